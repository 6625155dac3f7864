"""Batch extraction over files: ``extractly run`` and its Python API ``run_job``."""

from .job import JobConfig, JobSummary, run_job
from .rows import Row, read_rows

__all__ = ["JobConfig", "JobSummary", "Row", "read_rows", "run_job"]
