"""report/transcript.srt and .vtt: subtitles to play beside a recording, one cue per segment."""

from __future__ import annotations

from stages.summarize.schema import TranscriptLine

MIN_CUE_S = 0.5


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}{sep}{ms % 1000:03d}"


def _times(line: TranscriptLine) -> tuple[float, float]:
    return line.start, max(line.end, line.start + MIN_CUE_S)


def srt(lines: list[TranscriptLine]) -> str:
    cues = []
    for n, line in enumerate(lines, 1):
        start, end = _times(line)
        text = " ".join(line.text.split())
        cues.append(f"{n}\n{_stamp(start, ',')} --> {_stamp(end, ',')}\n{line.speaker}: {text.replace('-->', '->')}\n")
    return "\n".join(cues)


def vtt(lines: list[TranscriptLine]) -> str:
    cues = ["WEBVTT\n"]
    for line in lines:
        start, end = _times(line)
        text = " ".join(f"{line.speaker}: {line.text}".split()).replace("-->", "->")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        cues.append(f"{_stamp(start, '.')} --> {_stamp(end, '.')}\n{text}\n")
    return "\n".join(cues)
