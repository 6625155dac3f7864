"""A larger model teaches the small one: ``distill(schema, texts, teacher, out_dir)``.

``labels`` asks the teacher and keeps every answer on disk (resumable), ``select`` chooses which
texts to ask about, ``gate`` decides whether a new adapter replaces the registered one, and
``job`` runs label -> tune -> gate. It sits above ``extractly.tune`` and the Extractor; shadow
traffic for a running Extractor is ``extractly.shadow``.
"""

from __future__ import annotations

from .job import DistillConfig, DistillReport, RoundReport, distill
from .labels import LabelFiles, Text, label_texts

__all__ = [
    "DistillConfig", "DistillReport", "LabelFiles", "RoundReport", "Text", "distill", "label_texts",
]
