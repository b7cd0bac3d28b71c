"""report/final.md and report/transcript.md: plain text a person can read anywhere."""

from __future__ import annotations

import datetime as dt

from stages.summarize import lang
from stages.summarize.schema import FinalReport, TranscriptLine
from stages.summarize.text import clock
from stages.summarize.transcript import blocks


def esc(text: str) -> str:
    """Keep Markdown viewers from turning transcript text into HTML or tables."""
    return text.replace("\\", "\\\\").replace("<", "\\<").replace(">", "\\>")


def cell(text: str) -> str:
    return esc(text).replace("|", "\\|") or " "


def when(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def names_note(report: FinalReport) -> str | None:
    if not report.suggested_names:
        return None
    pairs = ", ".join(f"{label} = {name}" for label, name in report.suggested_names.items())
    options = " ".join(f'--speaker "{label}={name}"' for label, name in report.suggested_names.items())
    return lang.labels(report.language)["names_note"].format(pairs=pairs, session=report.session, options=options)


def transcript_md(lines: list[TranscriptLine]) -> str:
    """One paragraph per turn: a speaker's consecutive segments joined, as the HTML shows them."""
    return "\n\n".join(f"[{clock(start)}] {esc(speaker)}: {esc(text)}"
                       for start, _, speaker, text in blocks(lines)) + "\n"


def render(report: FinalReport, lines: list[TranscriptLine] | None) -> str:
    """The report; `lines` None leaves the transcript out."""
    t = lang.labels(report.language)
    out = [f"# {esc(report.title)}", "",
           f"{t['date']}: {when(report.created_at)} · {t['duration']}: {clock(report.duration_s)} · "
           f"{t['written_by']}: {esc(report.written_by())}", ""]
    if report.by_rules_only():
        out += [f"> {t['offline_note']}", ""]
    for note in report.notes:
        out += [f"> {esc(note)}", ""]
    if report.suggested_names:
        out += [f"> {esc(names_note(report) or '')}", ""]

    def bullets(title: str, items: list[str]) -> None:
        out.extend([f"## {title}", ""])
        out.extend([f"- {esc(i)}" for i in items] or [t["none"]])
        out.append("")

    out += [f"## {t['summary']}", "", esc(report.summary) or t["none"], ""]
    bullets(t["key_points"], report.key_points)
    bullets(t["decisions"], report.decisions)
    out += [f"## {t['action_items']}", ""]
    if report.action_items:
        out += [f"| {t['owner']} | {t['task']} | {t['due']} |", "|---|---|---|"]
        out += [f"| {cell(a.owner or t['unknown'])} | {cell(a.task)} | {cell(a.due or t['unknown'])} |"
                for a in report.action_items]
    else:
        out.append(t["none"])
    out.append("")
    bullets(t["open_questions"], report.open_questions)
    bullets(t["highlights"], [f"[{clock(h.time)}] {h.text}" for h in report.highlights])
    if report.gaps:
        bullets(t["gaps"], [t["gap_line"].format(start=clock(g.start or 0), end=clock(g.end or 0))
                            + f" ({g.reason})" for g in report.gaps])
    if lines is not None:
        out += [f"## {t['transcript']}", "", transcript_md(lines)]
    return "\n".join(out)
