"""The final report, built from the mini-summaries (never from the raw transcript) and written to report/.

The overall summary is the running synthesis an LLM wrote from the mini-summaries;
the lists are the mini-summaries' lists merged in code; the transcript comes
from the transcript files. report/END.json is written last: it says the report
is complete.
"""

from __future__ import annotations

import json
from pathlib import Path

from stages import atomic
from stages.models import ReportEnd, SessionManifest
from stages.speakers.suggest import suggest
from stages.spool import make_private_dir, now_iso
from stages.summarize import merge, render_html, render_md, render_pdf, render_srt
from stages.summarize.schema import ChunkFile, FinalReport, Gap, SynthesisFile, TranscriptLine
from stages.summarize.transcript import TranscriptView, blocks

FILES = ("transcript.json", "transcript.md", "final.md", "final.html", "final.pdf", "final.json", "transcript.srt",
         "transcript.vtt")
SUGGEST_NAMES = False  # bench/speakers.py: right 13 times of 19 (68 %), under the 90 % that showing them needs
FALLBACK_WORDS = ("failed", "stopped", "given up", "did not answer", "does not answer")


def transcript_lines(view: TranscriptView) -> list[TranscriptLine]:
    return [TranscriptLine(start=s.start, end=s.end, speaker=s.speaker, text=" ".join(s.text.split()))
            for s in view.all_segments()]


def build(manifest: SessionManifest, session_name: str, language: str, chunks: list[ChunkFile],
          synthesis: SynthesisFile, gaps: list[Gap], duration_s: float, run_notes: list[str]) -> FinalReport:
    merged = merge.merge(chunks, language)
    chunk_llms: dict[str, list[int]] = {}
    for chunk in chunks:
        for name in chunk.llm:
            chunk_llms.setdefault(name, []).append(chunk.chunk)
    notes = list(dict.fromkeys([*run_notes, *(n for c in chunks for n in c.notes
                                              if any(w in n for w in FALLBACK_WORDS)), *synthesis.notes]))
    return FinalReport(
        title=manifest.name, session=session_name, language=language, created_at=manifest.created_at,
        duration_s=round(duration_s, 2), llm=synthesis.llm, backend=synthesis.backend, chunk_llms=chunk_llms,
        notes=notes, summary=synthesis.summary, key_points=merged.key_points, decisions=merged.decisions,
        action_items=merged.action_items, open_questions=merged.open_questions, highlights=merged.highlights,
        gaps=gaps, chunks=len(chunks), generated_at=now_iso())


def with_owner_names(report: FinalReport, names: dict[str, str]) -> FinalReport:
    """Owners as the report names speakers: a live label the final pass changed, or a name given since."""
    items = [a.model_copy(update={"owner": names.get(a.owner, a.owner)}) for a in report.action_items]
    return report.model_copy(update={"action_items": items})


def with_speakers(report: FinalReport, lines: list[TranscriptLine]) -> FinalReport:
    """The report with who speaks, and the names the meeting suggests for voice labels."""
    turns = [TranscriptLine(start=a, end=b, speaker=who, text=text) for a, b, who, text in blocks(lines)]
    speakers = list(dict.fromkeys(x.speaker for x in lines))
    found = suggest(turns) if SUGGEST_NAMES else {}
    return report.model_copy(update={"speakers": speakers, "suggested_names": found})


def write(folder: Path, report: FinalReport, lines: list[TranscriptLine], include_transcript: bool = True) -> ReportEnd:
    """Every report file, each atomically, then END.json. Without `include_transcript` the report itself
    (final.md, .html, .pdf) leaves the transcript out; the transcript files beside it stay."""
    report = with_speakers(report, lines)
    make_private_dir(folder)
    shown = lines if include_transcript else None
    atomic.write_text(folder / "transcript.json",
                      json.dumps([x.model_dump(mode="json") for x in lines], ensure_ascii=False, indent=1) + "\n")
    atomic.write_text(folder / "transcript.md", render_md.transcript_md(lines))
    atomic.write_text(folder / "final.md", render_md.render(report, shown))
    atomic.write_text(folder / "final.html", render_html.render(report, shown))
    atomic.write_bytes(folder / "final.pdf", render_pdf.render(report, shown))
    atomic.write_json(folder / "final.json", report)
    atomic.write_text(folder / "transcript.srt", render_srt.srt(lines))
    atomic.write_text(folder / "transcript.vtt", render_srt.vtt(lines))
    end = ReportEnd(files=list(FILES), llm=report.llm, ended_at=now_iso())
    atomic.write_json(folder / "END.json", end)
    return end
