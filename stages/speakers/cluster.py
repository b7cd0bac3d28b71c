"""Telling voices apart: a cautious online assignment while the meeting runs, one global pass at its end.

Online, a segment joins the closest known voice when it is similar enough, and starts a new
voice only when it is long (its embedding is reliable) and unlike every known one; anything
in between goes to the closest voice without moving it. Every minute the voices heard so far
are regrouped the way the final pass does it (a voice the online rule had merged into another
gets its own number from then on). Numbers are never reused; labels already written stay.

At the end, the whole meeting at once (so early segments profit from late ones): average-
linkage clustering down to a high similarity gives fragments of voices; fragments whose
centroids are very close are joined; a voice with too little speech joins its closest
neighbour. Each final voice keeps the live number that most of its speech had, so the
labels people saw during the meeting mostly stay; where that leaves a hole (a voice opened
live that the final pass merged away: Speaker 2, 3, 4 for three people), the labeller numbers
the voices 1, 2, 3 in the order they first speak (`in_order`), unless a name was already given.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field

import numpy as np

JOIN = 0.70  # online: this similar to a voice's centroid -> that voice (and the centroid learns)
NEW = 0.55  # online: less similar than this to every voice, and long enough -> a new voice
NEW_MIN_S = 1.5  # online: shortest segment that may start a new voice
FINAL = 0.80  # final pass: average-linkage similarity down to which segments are grouped (fragments of voices)
MERGE = 0.85  # final pass: fragments whose centroids are this similar are one voice
SMALL_SHARE = 0.02  # final pass: a voice with less of the speech than this joins its closest neighbour
SMALL_S = 20.0  # ... and so does one with less than this many seconds
SHORT_SHARE = 0.15  # ... or, in a short meeting, this share of its speech (half the demo's least voice: 10 of 35 s)
REFINE_EVERY = 6  # live: every this many transcript files (a minute), the voices are regrouped as at the end
REFINE_SMALL_S = 12.0  # live regrouping: a voice needs this much speech to be kept apart (the final pass: 20 s)
MAX_GROUPS = 400  # final pass: above this many segments, close neighbours are pooled first (time, memory)
POOL = 0.80  # similarity at which neighbouring segments are pooled


def encode(vector: np.ndarray) -> str:
    """A unit vector as compact text for the spool (float16, base64): 192 dims in 512 characters."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


@dataclass
class Voice:
    number: int
    total: np.ndarray  # sum of the member segments' unit vectors, each weighted by its seconds
    seconds: float

    @property
    def centroid(self) -> np.ndarray:
        return unit(self.total)


@dataclass
class Online:
    """The live assignment. Its whole state is `voices` and `next_number` (kept in the spool)."""

    voices: list[Voice] = field(default_factory=list)
    next_number: int = 1
    join: float = JOIN
    new: float = NEW
    new_min_s: float = NEW_MIN_S
    refine_small_s: float = REFINE_SMALL_S

    def assign(self, vector: np.ndarray, seconds: float) -> int:
        if not self.voices:
            return self._add(vector, seconds)
        sims = [float(v.centroid @ vector) for v in self.voices]
        best = int(np.argmax(sims))
        if sims[best] < self.new and seconds >= self.new_min_s:
            return self._add(vector, seconds)
        voice = self.voices[best]
        if sims[best] >= self.join:
            voice.total = voice.total + seconds * vector
            voice.seconds += seconds
        return voice.number

    def _add(self, vector: np.ndarray, seconds: float) -> int:
        self.voices.append(Voice(self.next_number, seconds * vector, seconds))
        self.next_number += 1
        return self.voices[-1].number

    def refine(self, vectors: np.ndarray, seconds: np.ndarray) -> None:
        """Group everything heard so far as the final pass does and go on with those voices.

        Each group keeps the number of the current voice closest to most of its speech, so a voice
        keeps its label; a voice the online rule had missed gets a new number from now on. Only
        what the spool holds is used (the segments' vectors and the current voices), so a restart
        refines exactly as an uninterrupted run would."""
        if len(vectors) < 2 or not self.voices:
            return
        cents = np.stack([v.centroid for v in self.voices])
        votes = [self.voices[int(i)].number for i in np.argmax(vectors @ cents.T, axis=1)]
        numbers = final(vectors, seconds, votes, small_s=self.refine_small_s, short_share=None)
        voices: dict[int, Voice] = {}
        for v, s, n in zip(vectors, seconds, numbers, strict=True):
            found = voices.setdefault(n, Voice(n, np.zeros_like(v), 0.0))
            found.total = found.total + float(s) * v
            found.seconds += float(s)
        kept = [v for v in self.voices if v.number not in voices]  # a voice the regrouping merged stays known
        self.voices = sorted([*voices.values(), *kept], key=lambda v: v.number)
        self.next_number = max(self.next_number, max(numbers) + 1)


def _pool(vectors: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments pooled greedily, in time order, into groups of near-identical voice (bounds the final pass)."""
    owner = np.zeros(len(vectors), dtype=np.int64)
    totals = np.zeros_like(vectors, dtype=np.float64)  # at most one group per segment
    cents = np.zeros_like(vectors, dtype=np.float64)
    weights = np.zeros(len(vectors))
    count = 0
    for i, (v, s) in enumerate(zip(vectors, seconds, strict=True)):
        j = count
        if count:
            sims = cents[:count] @ v
            best = int(np.argmax(sims))
            if sims[best] >= POOL:
                j = best
        if j == count:
            count += 1
        totals[j] += float(s) * v
        cents[j] = unit(totals[j])
        weights[j] += float(s)
        owner[i] = j
    return cents[:count].astype(np.float32), weights[:count], owner


def _average_linkage(vectors: np.ndarray, weights: np.ndarray, threshold: float) -> np.ndarray:
    """Group index per row: weighted average-linkage agglomeration on cosine similarity, down to `threshold`."""
    n = len(vectors)
    sim = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    size = weights.astype(np.float64).copy()
    alive = np.ones(n, dtype=bool)
    group = np.arange(n)
    while alive.sum() > 1:
        flat = int(np.argmax(sim))
        i, j = divmod(flat, n)
        if sim[i, j] < threshold:
            break
        merged = (size[i] * sim[i] + size[j] * sim[j]) / (size[i] + size[j])
        sim[i, :], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j, :], sim[:, j] = -np.inf, -np.inf
        size[i] += size[j]
        alive[j] = False
        group[group == j] = i
    return group


def final(vectors: np.ndarray, seconds: np.ndarray, live: list[int], threshold: float = FINAL,
          merge: float = MERGE, small_share: float = SMALL_SHARE, small_s: float = SMALL_S,
          short_share: float | None = SHORT_SHARE) -> list[int]:
    """The final speaker number of each segment (rows of `vectors`, with their seconds and live numbers).

    `short_share` lowers `small_s` in a short meeting; None keeps it (the live regrouping, which sees
    only the first minutes of every meeting and must not split a voice there)."""
    n = len(vectors)
    if n == 0:
        return []
    if n > MAX_GROUPS:
        pooled, weights, owner = _pool(vectors, seconds)
    else:
        pooled, weights, owner = vectors, seconds.astype(np.float64), np.arange(n)
    group = _average_linkage(pooled, weights, threshold)[owner]
    total = float(seconds.sum())
    while True:
        ids = list(np.unique(group))
        if len(ids) < 2:
            break
        amount = {g: float(seconds[group == g].sum()) for g in ids}
        cents = {g: unit((vectors[group == g] * seconds[group == g, None]).sum(axis=0)) for g in ids}
        # fragments of one voice: centroids this close are one speaker
        pairs = [(float(cents[a] @ cents[b]), a, b) for a, b in itertools.combinations(ids, 2)]
        sim, a, b = max(pairs)
        if sim >= merge:
            small, big = sorted((a, b), key=lambda g: (amount[g], g))  # distinct even when the amounts are equal
            group[group == small] = big
            continue
        # too little speech to be sure of a voice: it joins the closest one
        smallest = min(ids, key=lambda g: amount[g])
        floor = small_s if short_share is None else min(small_s, short_share * total)
        if amount[smallest] >= max(small_share * total, floor):
            break
        target = max((g for g in ids if g != smallest), key=lambda g: float(cents[g] @ cents[smallest]))
        group[group == smallest] = target
    return _keep_live_numbers(group, seconds, live)


def in_order(numbers: list[int]) -> list[int]:
    """`numbers` as they are when they are 1..k; else renumbered 1..k in the order they first appear.

    The report of a three-person call should not say "Speaker 4"; numbers that are already 1..k
    stay as the live labels showed them, even when not in order of appearance."""
    used = dict.fromkeys(numbers)
    if sorted(used) == list(range(1, len(used) + 1)):
        return numbers
    renumber = {n: i for i, n in enumerate(used, start=1)}
    return [renumber[n] for n in numbers]


def _keep_live_numbers(group: np.ndarray, seconds: np.ndarray, live: list[int]) -> list[int]:
    """Each final group takes the live number holding most of its speech (largest groups choose first)."""
    ids = sorted(np.unique(group), key=lambda g: -float(seconds[group == g].sum()))
    taken: set[int] = set()
    number: dict[int, int] = {}
    for g in ids:
        votes: dict[int, float] = {}
        for i in np.flatnonzero(group == g):
            votes[live[i]] = votes.get(live[i], 0.0) + float(seconds[i])
        for candidate, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
            if candidate not in taken:
                number[g] = candidate
                taken.add(candidate)
                break
    fresh = max([*live, *taken, 0]) + 1
    for g in ids:
        if g not in number:
            number[g] = fresh
            fresh += 1
    return [number[int(g)] for g in group]
