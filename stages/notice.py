"""The first-run reminder that the people in the meeting must be told it is transcribed.

Recording a call without telling the others is unlawful in many places (GDPR and
two-party consent laws) and always bad manners. The tool cannot ask them, so it
reminds its user once: the first time `up` starts a session for this user, in the
meeting's language (French for `fr`, English otherwise). A marker file beside the
user's pipeline.toml remembers that it was shown; `[session] consent_notice = false`
turns it off entirely (for instance on a machine set up for someone else).
"""

from __future__ import annotations

import os
from pathlib import Path

from stages import atomic
from stages.config import user_config_path
from stages.spool import make_private_dir, now_iso

MARKER = "consent-notice-shown"

TEXT = {
    "fr": ("Rappel : cette réunion va être enregistrée et transcrite sur cet ordinateur. Informez-en les autres "
           "participants au début de la réunion, et obtenez leur accord lorsque la loi l'exige.\n"
           "(Message affiché une seule fois. Pour ne plus jamais l'afficher : consent_notice = false dans la "
           "section [session] de pipeline.toml.)"),
    "en": ("Reminder: this meeting will be recorded and transcribed on this computer. Tell the other participants "
           "at the start of the meeting, and get their consent where the law requires it.\n"
           "(Shown once. To turn it off for good: consent_notice = false in the [session] section of "
           "pipeline.toml.)"),
}


def marker_path() -> Path:
    return user_config_path().parent / MARKER


def text_for(language: str) -> str:
    return TEXT["fr" if language == "fr" else "en"]


def first_run_notice(language: str, enabled: bool) -> str | None:
    """The reminder to print if this is the user's first session (and remember it), else None.

    A marker that cannot be written (read-only profile) only means the reminder comes again.
    """
    if not enabled:
        return None
    marker = marker_path()
    if marker.exists():
        return None
    try:
        if not marker.parent.exists():
            make_private_dir(marker.parent)
        atomic.write_text(marker, f"shown {now_iso()} (pid {os.getpid()})\n")
    except OSError:
        pass
    return text_for(language)
