"""report/final.pdf: the HTML report's content as a PDF, made in-process (fpdf2), no browser.

The font is Noto Sans (SIL Open Font License 1.1, from Google Fonts' `ofl/notosans`),
shipped by the `fontpkg-noto-sans` package: a Unicode TrueType font, so French
accents, « guillemets », œ and € come out right on any machine. It is a variable
font, used at its default (regular) weight: making a bold instance of it takes fontTools
seconds, so bold text is drawn filled and outlined instead (PDF text mode 2), which costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from stages.summarize import lang
from stages.summarize.render_md import when
from stages.summarize.schema import FinalReport, TranscriptLine
from stages.summarize.text import clock
from stages.summarize.transcript import blocks

FONT = "NotoSans"
INK = (29, 35, 48)
MUTED = (91, 100, 117)
ACCENT = (47, 95, 179)
NOTE = (255, 248, 225)
LINE_H = 5.6


def font_file() -> Path:
    """Noto Sans from its package (a clear error if the package is missing)."""
    try:
        import fontpkg_noto_sans
    except ImportError as exc:  # a broken install: say what to install
        raise RuntimeError("the PDF report needs the fontpkg-noto-sans package (pip install fontpkg-noto-sans)") \
            from exc
    return Path(fontpkg_noto_sans.ROOT) / "files" / "NotoSans[wdth,wght].ttf"


def render(report: FinalReport, lines: list[TranscriptLine] | None) -> bytes:
    """The report as PDF bytes; `lines` None leaves the transcript out (`[report] include_full_transcript`)."""
    from fpdf import FPDF
    from fpdf.enums import TextMode, XPos, YPos

    t = lang.labels(report.language)
    pdf = FPDF(format="A4")
    ttf = str(font_file())
    pdf.add_font(FONT, "", ttf)
    pdf.set_title(report.title)
    pdf.set_lang(report.language)
    pdf.set_creator("meeting-assistant")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, 16)
    pdf.add_page()
    width = pdf.epw

    def bold(on: bool) -> None:
        pdf.text_mode = TextMode.FILL_STROKE if on else TextMode.FILL
        pdf.set_line_width(0.25 if on else 0.2)

    def para(text: str, size: float = 10.5, color: tuple[int, int, int] = INK, strong: bool = False,
             fill: tuple[int, int, int] | None = None) -> None:
        pdf.set_font(FONT, "", size)
        pdf.set_text_color(*color)
        pdf.set_draw_color(*color)
        bold(strong)
        if fill:
            pdf.set_fill_color(*fill)
        pdf.multi_cell(width, size * 0.53, text, fill=fill is not None, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        bold(False)

    def heading(text: str) -> None:
        if pdf.will_page_break(22):
            pdf.add_page()
        pdf.ln(4)
        para(text, 13, ACCENT, strong=True)
        pdf.set_draw_color(227, 230, 236)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.l_margin + width, pdf.get_y() + 0.5)
        pdf.ln(2.5)

    def bullets(items: list[str]) -> None:
        if not items:
            para(t["none"], color=MUTED)
            return
        for item in items:
            pdf.set_font(FONT, "", 10.5)
            pdf.set_text_color(*INK)
            pdf.cell(5, LINE_H, "•")
            pdf.multi_cell(width - 5, LINE_H, item, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(0.8)

    para(report.title, 20, INK, strong=True)
    para(f"{t['date']}: {when(report.created_at)} · {t['duration']}: {clock(report.duration_s)} · "
         f"{t['written_by']}: {report.llm}", 9.5, MUTED)
    pdf.ln(1)
    notes = ([t["offline_note"]] if report.backend == "offline" else []) + report.notes
    for note in notes:
        para(note, 9.5, INK, fill=NOTE)
        pdf.ln(1)
    heading(t["summary"])
    para(report.summary or t["none"], color=INK if report.summary else MUTED)
    heading(t["key_points"])
    bullets(report.key_points)
    heading(t["decisions"])
    bullets(report.decisions)
    heading(t["action_items"])
    if report.action_items:
        pdf.set_fill_color(255, 255, 255)
        pdf.set_font(FONT, "", 10)
        pdf.set_text_color(*INK)
        pdf.set_draw_color(200, 205, 214)
        with pdf.table(col_widths=(22, 56, 22), text_align="LEFT", line_height=LINE_H, padding=1.5,
                       headings_style=_headings(), borders_layout="HORIZONTAL_LINES") as table:
            table.row([t["owner"], t["task"], t["due"]])
            for a in report.action_items:
                table.row([a.owner or t["unknown"], a.task, a.due or t["unknown"]])
    else:
        para(t["none"], color=MUTED)
    heading(t["open_questions"])
    bullets(report.open_questions)
    heading(t["highlights"])
    bullets([f"[{clock(h.time)}] {h.text}" for h in report.highlights])
    if report.gaps:
        heading(t["gaps"])
        bullets([t["gap_line"].format(start=clock(g.start or 0), end=clock(g.end or 0)) + f" ({g.reason})"
                 for g in report.gaps])
    if lines is not None:
        heading(t["transcript"])
        _transcript(pdf, lines, width, bold)
    return bytes(pdf.output())


def _transcript(pdf: Any, lines: list[TranscriptLine], width: float, bold: Callable[[bool], None]) -> None:
    """The transcript, wrapped here and drawn line by line: fpdf2's own line breaking measures a paragraph
    again for every character, 30 s for two hours of meeting on a busy 2-core machine; this takes a tenth."""
    size, step = 9.5, LINE_H - 0.6
    pdf.set_font(FONT, "", size)
    widths: dict[str, float] = {}

    def w(word: str) -> float:
        if word not in widths:
            widths[word] = pdf.get_string_width(word)
        return widths[word]

    space = w(" ")
    x0 = pdf.l_margin
    for start, _, speaker, text in blocks(lines):
        stamp, who = f"{clock(start)}  ", f"{speaker}: "
        indent = w(stamp) + pdf.get_string_width(who) + space
        rows: list[list[str]] = [[]]
        room = width - indent
        for word in text.split():
            if rows[-1] and w(word) > room:
                rows.append([])
                room = width
            rows[-1].append(word)
            room -= w(word) + space
        for n, row in enumerate(rows):
            if pdf.get_y() + step > pdf.page_break_trigger:
                pdf.add_page()
            y = pdf.get_y() + step * 0.78
            x = x0
            if n == 0:
                pdf.set_text_color(*MUTED)
                pdf.text(x, y, stamp)
                x += w(stamp)
                pdf.set_text_color(*INK)
                pdf.set_draw_color(*INK)
                bold(True)
                pdf.text(x, y, who)
                bold(False)
                x += pdf.get_string_width(who) + space
            pdf.text(x, y, " ".join(row))
            pdf.set_y(pdf.get_y() + step)
        pdf.set_y(pdf.get_y() + 1.4)


def _headings() -> object:
    from fpdf.fonts import FontFace

    return FontFace(family=FONT, emphasis=None, fill_color=(244, 246, 250))
