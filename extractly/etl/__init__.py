"""Batch extraction over files: ``extractly run`` and its Python API ``run_job``."""

from .job import JobConfig, run_job
from .rows import Row, read_rows
from .summary import JobSummary

__all__ = ["JobConfig", "JobSummary", "Row", "read_rows", "run_job"]
