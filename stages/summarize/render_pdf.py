"""report/final.pdf: the HTML report's content as a PDF, made in-process (fpdf2), no browser.

The font is Noto Sans (SIL Open Font License 1.1, from Google Fonts' `ofl/notosans`),
shipped by the `fontpkg-noto-sans` package: a Unicode TrueType font, so French
accents, « guillemets », œ and € come out right on any machine. It is a variable
font, used at its default (regular) weight: making a bold instance of it takes fontTools
seconds, so bold text is drawn filled and outlined instead (PDF text mode 2), which costs nothing.

Text is wrapped here, word by word with cached widths, and drawn line by line: fpdf2's own
line breaking measures a paragraph again for every character it adds (a 2-hour meeting's
report took 23 s of a busy 2-core machine that way, most of the report's time).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from stages.summarize import lang
from stages.summarize.render_md import when
from stages.summarize.schema import FinalReport, TranscriptLine
from stages.summarize.text import clock
from stages.summarize.transcript import blocks

# fontTools logs every glyph list of the font subset at INFO: dozens of lines per report in summarize.log
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT = "NotoSans"
INK = (29, 35, 48)
MUTED = (91, 100, 117)
ACCENT = (47, 95, 179)
RULE = (210, 214, 222)
NOTE = (255, 248, 225)
HEAD = (244, 246, 250)
COLUMNS = (0.22, 0.56, 0.22)  # owner, task, due


def font_file() -> Path:
    """Noto Sans from its package (a clear error if the package is missing)."""
    try:
        import fontpkg_noto_sans
    except ImportError as exc:  # a broken install: say what to install
        raise RuntimeError("the PDF report needs the fontpkg-noto-sans package (pip install fontpkg-noto-sans)") \
            from exc
    return Path(fontpkg_noto_sans.ROOT) / "files" / "NotoSans[wdth,wght].ttf"


class Writer:
    """Paragraphs, bullets and a table on fpdf2 pages, wrapped with cached word widths."""

    def __init__(self, pdf: Any) -> None:
        from fpdf.enums import TextMode

        self.pdf = pdf
        self.modes = (TextMode.FILL, TextMode.FILL_STROKE)
        self.widths: dict[tuple[float, str], float] = {}

    def size(self, size: float) -> None:
        self.pdf.set_font(FONT, "", size)

    def width(self, word: str) -> float:
        key = (self.pdf.font_size_pt, word)
        if key not in self.widths:
            self.widths[key] = self.pdf.get_string_width(word)
        return self.widths[key]

    def wrap(self, text: str, width: float, first: float | None = None) -> list[str]:
        """Lines of at most `width` (the first one `first`), cut between words."""
        space = self.width(" ")
        rows: list[list[str]] = [[]]
        room = width if first is None else first
        for word in text.split():
            w = self.width(word)
            if rows[-1] and w > room:
                rows.append([])
                room = width
            rows[-1].append(word)
            room -= w + space
        return [" ".join(r) for r in rows]

    def bold(self, on: bool) -> None:
        self.pdf.text_mode = self.modes[on]
        self.pdf.set_line_width(0.25 if on else 0.2)

    def color(self, rgb: tuple[int, int, int]) -> None:
        self.pdf.set_text_color(*rgb)
        self.pdf.set_draw_color(*rgb)

    def room(self, height: float) -> None:
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def lines(self, rows: list[str], x: float, step: float, strong: bool = False) -> None:
        self.bold(strong)
        for row in rows:
            self.room(step)
            self.pdf.text(x, self.pdf.get_y() + step * 0.78, row)
            self.pdf.set_y(self.pdf.get_y() + step)
        self.bold(False)

    def para(self, text: str, size: float = 10.5, rgb: tuple[int, int, int] = INK, strong: bool = False,
             fill: tuple[int, int, int] | None = None) -> None:
        pdf = self.pdf
        self.size(size)
        self.color(rgb)
        step = size * 0.5
        rows = self.wrap(text, pdf.epw - (4 if fill else 0))
        if fill:
            self.room(step * len(rows) + 2)
            pdf.set_fill_color(*fill)
            pdf.rect(pdf.l_margin, pdf.get_y(), pdf.epw, step * len(rows) + 2, style="F")
            pdf.set_y(pdf.get_y() + 1)
        self.lines(rows, pdf.l_margin + (2 if fill else 0), step, strong)
        if fill:
            pdf.set_y(pdf.get_y() + 1)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        self.room(20)
        pdf.set_y(pdf.get_y() + 4)
        self.para(text, 13, ACCENT, strong=True)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.l_margin + pdf.epw, pdf.get_y() + 0.5)
        pdf.set_y(pdf.get_y() + 2.5)

    def bullets(self, items: list[str], empty: str) -> None:
        if not items:
            self.para(empty, rgb=MUTED)
            return
        pdf = self.pdf
        self.size(10.5)
        self.color(INK)
        for item in items:
            rows = self.wrap(item, pdf.epw - 5)
            self.room(5.25)
            pdf.text(pdf.l_margin + 0.5, pdf.get_y() + 5.25 * 0.78, "•")
            self.lines(rows, pdf.l_margin + 5, 5.25)
            pdf.set_y(pdf.get_y() + 0.8)

    def table(self, head: list[str], rows: list[list[str]]) -> None:
        pdf = self.pdf
        step = 5.0
        widths = [pdf.epw * c for c in COLUMNS]
        for n, cells in enumerate([head, *rows]):
            self.size(10)
            wrapped = [self.wrap(c, w - 3) for c, w in zip(cells, widths, strict=True)]
            height = step * max(len(w) for w in wrapped) + 3
            self.room(height)
            top = pdf.get_y()
            if n == 0:
                pdf.set_fill_color(*HEAD)
                pdf.rect(pdf.l_margin, top, pdf.epw, height, style="F")
            x = pdf.l_margin
            for cell_rows, w in zip(wrapped, widths, strict=True):
                self.color(INK)
                pdf.set_y(top + 1.5)
                self.lines(cell_rows, x + 1.5, step, strong=n == 0)
                x += w
            pdf.set_draw_color(*RULE)
            pdf.line(pdf.l_margin, top + height, pdf.l_margin + pdf.epw, top + height)
            pdf.set_y(top + height)


def render(report: FinalReport, lines: list[TranscriptLine] | None) -> bytes:
    """The report as PDF bytes; `lines` None leaves the transcript out (`[report] include_full_transcript`)."""
    from fpdf import FPDF

    t = lang.labels(report.language)
    pdf = FPDF(format="A4")
    pdf.add_font(FONT, "", str(font_file()))
    pdf.set_title(report.title)
    pdf.set_lang(report.language)
    pdf.set_creator("meeting-assistant")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, 16)
    pdf.add_page()
    out = Writer(pdf)
    out.para(report.title, 20, INK, strong=True)
    out.para(f"{t['date']}: {when(report.created_at)} · {t['duration']}: {clock(report.duration_s)} · "
             f"{t['written_by']}: {report.written_by()}", 9.5, MUTED)
    for note in ([t["offline_note"]] if report.by_rules_only() else []) + report.notes:
        pdf.set_y(pdf.get_y() + 1)
        out.para(note, 9.5, INK, fill=NOTE)
    out.heading(t["summary"])
    out.para(report.summary or t["none"], rgb=INK if report.summary else MUTED)
    out.heading(t["key_points"])
    out.bullets(report.key_points, t["none"])
    out.heading(t["decisions"])
    out.bullets(report.decisions, t["none"])
    out.heading(t["action_items"])
    if report.action_items:
        out.table([t["owner"], t["task"], t["due"]],
                  [[a.owner or t["unknown"], a.task, a.due or t["unknown"]] for a in report.action_items])
    else:
        out.para(t["none"], rgb=MUTED)
    out.heading(t["open_questions"])
    out.bullets(report.open_questions, t["none"])
    out.heading(t["highlights"])
    out.bullets([f"[{clock(h.time)}] {h.text}" for h in report.highlights], t["none"])
    if report.gaps:
        out.heading(t["gaps"])
        out.bullets([t["gap_line"].format(start=clock(g.start or 0), end=clock(g.end or 0)) + f" ({g.reason})"
                     for g in report.gaps], t["none"])
    if lines is not None:
        out.heading(t["transcript"])
        _transcript(out, lines)
    return bytes(pdf.output())


def _transcript(out: Writer, lines: list[TranscriptLine]) -> None:
    pdf = out.pdf
    step = 4.9
    out.size(9.5)
    for start, _, speaker, text in blocks(lines):
        stamp, who = f"{clock(start)}  ", f"{speaker}:"
        lead = out.width(stamp) + out.width(who) + out.width(" ") * 2
        rows = out.wrap(text, pdf.epw, first=pdf.epw - lead)
        out.room(step)
        y = pdf.get_y() + step * 0.78
        out.color(MUTED)
        pdf.text(pdf.l_margin, y, stamp)
        out.color(INK)
        out.bold(True)
        pdf.text(pdf.l_margin + out.width(stamp), y, who)
        out.bold(False)
        pdf.text(pdf.l_margin + lead, y, rows[0])
        pdf.set_y(pdf.get_y() + step)
        out.lines(rows[1:], pdf.l_margin, step)
        pdf.set_y(pdf.get_y() + 1.4)
