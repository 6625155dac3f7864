"""What a finished (or stopped) ``extractly run`` job did: ``JobSummary`` and its one-line text.

The summary counts rows that went ok, failed or were skipped as already done, and how many rows
each fallback backend answered (escalations, per backend). Not here: counting them (``job.py``)
or showing progress while the job runs (``progress.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobSummary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    output: str = ""
    dead_letter: str = ""
    escalated: dict[str, int] = field(default_factory=dict)
    """Rows answered by a fallback backend rather than the first one, per backend."""

    @property
    def rows_per_second(self) -> float:
        return (self.ok + self.failed) / self.seconds if self.seconds else 0.0


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
