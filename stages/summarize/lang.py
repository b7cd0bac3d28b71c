"""The meeting's language: which one it is, and the words the report uses in it."""

from __future__ import annotations

from collections import Counter

NAMES = {"fr": "français", "en": "English", "de": "Deutsch", "es": "español", "it": "italiano",
         "pt": "português", "nl": "Nederlands"}
ENGLISH_NAMES = {"fr": "French", "en": "English", "de": "German", "es": "Spanish", "it": "Italian",
                 "pt": "Portuguese", "nl": "Dutch"}

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "report": "Compte rendu", "summary": "Résumé", "key_points": "Points clés", "decisions": "Décisions",
        "action_items": "Actions", "owner": "Responsable", "task": "Tâche", "due": "Échéance",
        "open_questions": "Questions ouvertes", "highlights": "Moments forts", "transcript": "Transcription",
        "gaps": "Passages manquants", "gap_line": "audio non transcrit de {start} à {end}",
        "details": "Détails", "date": "Date", "duration": "Durée", "written_by": "Rédigé par",
        "none": "Aucun élément.", "unknown": "—", "mini": "Résumés par période", "notes": "Remarques",
        "offline_note": "Rédigé sans modèle de langue (mode hors ligne : phrases extraites du texte).",
        "names_note": "Noms suggérés par la réunion elle-même (à confirmer) : {pairs}. Pour les adopter partout : "
                      "python supervisor.py report {session} {options}",
    },
    "en": {
        "report": "Meeting report", "summary": "Summary", "key_points": "Key points", "decisions": "Decisions",
        "action_items": "Action items", "owner": "Owner", "task": "Task", "due": "Due",
        "open_questions": "Open questions", "highlights": "Highlights", "transcript": "Transcript",
        "gaps": "Missing passages", "gap_line": "audio not transcribed from {start} to {end}",
        "details": "Details", "date": "Date", "duration": "Duration", "written_by": "Written by",
        "none": "None.", "unknown": "—", "mini": "Summaries by period", "notes": "Notes",
        "offline_note": "Written without a language model (offline mode: sentences taken from the transcript).",
        "names_note": "Names the meeting itself suggests (unconfirmed): {pairs}. To use them everywhere: "
                      "python supervisor.py report {session} {options}",
    },
}

SPEAKERS = {"fr": ("Vous", "Participants")}
DEFAULT_SPEAKERS = ("You", "Others")


def labels(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


def speakers(language: str) -> tuple[str, str]:
    """(mic label, system label), as the transcriber writes them."""
    return SPEAKERS.get(language, DEFAULT_SPEAKERS)


def name(language: str) -> str:
    return NAMES.get(language, language)


def english_name(language: str) -> str:
    return ENGLISH_NAMES.get(language, language)


def resolve(manifest_language: str, spoken: list[str]) -> str | None:
    """The session's language; with 'auto', the one the transcriber recorded most (None: not known yet)."""
    if manifest_language != "auto":
        return manifest_language
    votes = Counter(code for code in spoken if code and code != "auto")
    if not votes:
        return None
    return votes.most_common(1)[0][0]
