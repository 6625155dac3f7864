"""What ``extractly run`` shows while it works and when it ends, on stderr.

The bar (``extractly.progress``: live on a terminal, periodic plain lines otherwise) counts rows
done or skipped against the input's rows, with ok / failed / skipped / escalated counts; the
summary line (``summary.py``) ends it. Not here: any state a resume depends on (that lives in
the output files).
"""

from __future__ import annotations

from typing import TextIO

from ..progress import LOG_EVERY, ProgressBar
from .summary import JobSummary, summary_line


class Progress:
    def __init__(
        self, total: int | None, stream: TextIO | None = None, log_every: float = LOG_EVERY
    ) -> None:
        self.bar = ProgressBar(total, unit="rows", desc="extractly run", stream=stream,
                               log_every=log_every)

    def update(self, summary: JobSummary) -> None:
        self.bar.update(
            summary.ok + summary.failed + summary.skipped,
            ok=summary.ok,
            failed=summary.failed,
            skipped=summary.skipped,
            escalated=sum(summary.escalated.values()),
        )

    def finish(self, summary: JobSummary) -> None:
        self.update(summary)
        self.bar.close()
        self.bar.write(summary_line(summary))
