"""report/final.html: one self-contained page, readable on screen and on paper.

Every piece of text comes from speech or an LLM, so every piece is escaped; the
page carries a Content-Security-Policy that allows no script, no network and no
form at all, so even a mistake in escaping could not run anything.
"""

from __future__ import annotations

from html import escape

from stages.summarize import lang
from stages.summarize.render_md import names_note, when
from stages.summarize.schema import FinalReport, TranscriptLine
from stages.summarize.text import clock
from stages.summarize.transcript import blocks

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6ec; --accent: #2f5fb3; }
* { box-sizing: border-box; }
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); max-width: 58rem; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.8rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line);
     color: var(--accent); }
.meta { color: var(--muted); margin: 0 0 1rem; }
.note { background: #fff8e1; border-left: 4px solid #e0a800; padding: .5rem .8rem; margin: .6rem 0; }
ul { padding-left: 1.3rem; } li { margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
th { background: #f4f6fa; font-weight: 600; }
.t { color: var(--muted); font-variant-numeric: tabular-nums; white-space: nowrap; margin-right: .4rem; }
.who { font-weight: 600; margin-right: .3rem; }
.transcript p { margin: .3rem 0; }
.empty { color: var(--muted); font-style: italic; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; color: #000; }
  tr, li, .transcript p { break-inside: avoid; }
  .note { border-left-color: #999; background: none; }
}
"""


def _list(items: list[str], empty: str) -> str:
    if not items:
        return f'<p class="empty">{escape(empty)}</p>'
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>"


def render(report: FinalReport, lines: list[TranscriptLine] | None) -> str:
    """The page; `lines` None leaves the transcript out."""
    t = lang.labels(report.language)
    e = escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(report.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',  # a constant: no escaping needed
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{e(report.title)} — {e(t['report'])}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(report.title)}</h1>",
        f'<p class="meta">{e(t["date"])}: {e(when(report.created_at))} · {e(t["duration"])}: '
        f"{e(clock(report.duration_s))} · {e(t['written_by'])}: {e(report.written_by())}</p>",
    ]
    if report.by_rules_only():
        parts.append(f'<p class="note">{e(t["offline_note"])}</p>')
    parts += [f'<p class="note">{e(n)}</p>' for n in report.notes]
    if report.suggested_names:
        parts.append(f'<p class="note">{e(names_note(report) or "")}</p>')
    parts += [f"<h2>{e(t['summary'])}</h2>",
              f"<p>{e(report.summary)}</p>" if report.summary else f'<p class="empty">{e(t["none"])}</p>',
              f"<h2>{e(t['key_points'])}</h2>", _list(report.key_points, t["none"]),
              f"<h2>{e(t['decisions'])}</h2>", _list(report.decisions, t["none"]),
              f"<h2>{e(t['action_items'])}</h2>"]
    if report.action_items:
        rows = "".join(f"<tr><td>{e(a.owner or t['unknown'])}</td><td>{e(a.task)}</td>"
                       f"<td>{e(a.due or t['unknown'])}</td></tr>" for a in report.action_items)
        parts.append(f"<table><thead><tr><th>{e(t['owner'])}</th><th>{e(t['task'])}</th><th>{e(t['due'])}</th>"
                     f"</tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append(f'<p class="empty">{e(t["none"])}</p>')
    parts += [f"<h2>{e(t['open_questions'])}</h2>", _list(report.open_questions, t["none"]),
              f"<h2>{e(t['highlights'])}</h2>"]
    if report.highlights:
        parts.append("<ul>" + "".join(f'<li><span class="t">{e(clock(h.time))}</span>{e(h.text)}</li>'
                                      for h in report.highlights) + "</ul>")
    else:
        parts.append(f'<p class="empty">{e(t["none"])}</p>')
    if report.gaps:
        gap_lines = [t["gap_line"].format(start=clock(g.start or 0), end=clock(g.end or 0)) + f" ({g.reason})"
                     for g in report.gaps]
        parts += [f"<h2>{e(t['gaps'])}</h2>", _list(gap_lines, t["none"])]
    if lines is not None:
        parts.append(f"<h2>{e(t['transcript'])}</h2>")
        parts.append('<div class="transcript">')
        for start, _, speaker, text in blocks(lines):
            parts.append(f'<p><span class="t">{e(clock(start))}</span><span class="who">{e(speaker)}:</span>'
                         f"{e(text)}</p>")
        parts.append("</div>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
