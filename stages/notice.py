"""The first-run reminder that the people in the meeting must be told it is transcribed.

Recording a call without telling the others is unlawful in many places (GDPR and
two-party consent laws) and always bad manners. The tool cannot ask them, so it
reminds its user once: the first time `up` starts a session for this user, in the
meeting's language (French for `fr`, English otherwise). A marker file beside the
user's pipeline.toml remembers that it was shown; `[session] consent_notice = false`
turns it off entirely (for instance on a machine set up for someone else). When the
audio goes to a transcription server, the reminder says so, once per server.
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


# With [transcribe] engine = "openai" the audio leaves the machine: the reminder says so, and where it goes.
SERVER_TEXT = {
    "fr": ("Rappel : cette réunion va être enregistrée sur cet ordinateur et transcrite par le serveur {server} : "
           "son audio quitte cet ordinateur. Informez-en les autres participants au début de la réunion, et obtenez "
           "leur accord lorsque la loi l'exige.\n"
           "(Message affiché une fois par serveur. Pour ne plus jamais l'afficher : consent_notice = false dans la "
           "section [session] de pipeline.toml.)"),
    "en": ("Reminder: this meeting will be recorded on this computer and transcribed by the server {server}: its "
           "audio leaves this computer. Tell the other participants at the start of the meeting, and get their "
           "consent where the law requires it.\n"
           "(Shown once per server. To turn it off for good: consent_notice = false in the [session] section of "
           "pipeline.toml.)"),
}


def marker_path() -> Path:
    return user_config_path().parent / MARKER


def text_for(language: str, server: str | None = None) -> str:
    lang = "fr" if language == "fr" else "en"
    return SERVER_TEXT[lang].format(server=server) if server else TEXT[lang]


def first_run_notice(language: str, enabled: bool, server: str | None = None) -> str | None:
    """The reminder to print if this is the user's first session, or the first whose audio goes to
    `server` (and remember it), else None.

    A marker that cannot be written (read-only profile) only means the reminder comes again.
    """
    if not enabled:
        return None
    marker = marker_path()
    seen = marker.read_text(encoding="utf-8") if marker.exists() else ""
    line = f"server {server}" if server else ""
    if seen and (not server or line in seen.splitlines()):
        return None
    try:
        if not marker.parent.exists():
            make_private_dir(marker.parent)
        atomic.write_text(marker, seen + f"shown {now_iso()} (pid {os.getpid()})\n" + (line + "\n" if line else ""))
    except OSError:
        pass
    return text_for(language, server)
