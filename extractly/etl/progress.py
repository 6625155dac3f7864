"""What ``extractly run`` shows while it works and when it ends, on stderr.

The bar (``extractly.progress``: live on a terminal, periodic plain lines otherwise) counts rows
done or skipped against the input's rows, with ok / failed / skipped / escalated counts. The
summary at the end says how many rows each fallback backend answered, so escalations are
counted per backend. Not here: any state a resume depends on (that lives in the output files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ..progress import LOG_EVERY, ProgressBar

if TYPE_CHECKING:
    from .job import JobSummary


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


def summary_line(summary: JobSummary) -> str:
    """``extractly run done: 9 ok (3 escalated: 3 by openai:...#m), 1 failed (see F), ...``."""
    status = "interrupted" if summary.interrupted else "done"
    escalated = sum(summary.escalated.values())
    by = ", ".join(f"{n:,} by {backend}" for backend, n in sorted(summary.escalated.items()))
    ok = f"{summary.ok:,} ok" + (f" ({escalated:,} escalated: {by})" if escalated else "")
    return (
        f"extractly run {status}: {ok}, {summary.failed:,} failed (see {summary.dead_letter}), "
        f"{summary.skipped:,} skipped as already done; "
        f"{summary.rows_per_second:.2f} rows/s over {_duration(summary.seconds)}"
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
