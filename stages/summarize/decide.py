"""Decisions and open questions from the words alone (the offline rules).

A decision is a proposal followed by agreement ("What if we rent one?" "Let's do that." /
"Validé." / "On part là-dessus."), stated as whoever leads restates it ("Okay, we send the
voucher.") or as it was proposed, or one announced outright ("c'est décidé, on…"); it is
written as a short statement of what was decided, not quoted. A question is open when the
answer is that nobody knows ("No idea." / "Je n'en sais rien.").
"""

from __future__ import annotations

import re

from stages.summarize import cues
from stages.summarize.sentences import MAX_ITEM, PROCESS, Sentence, family
from stages.summarize.tasks import REQUEST
from stages.summarize.text import content_words, similarity

CONDITIONAL = re.compile(r"\b(?:if|whether|si|should we|est-ce qu'on|faut-il)\b", re.IGNORECASE)
PROPOSAL_START = {
    "en": re.compile(r"^(?:(?:then|so|well|and|okay|also)[,]?\s+)*(?:what if we|how about|why not|i (?:would |'d )?"
                     r"(?:propose|suggest)(?: that)?(?: we)?|i'd (?:rather|prefer|still|say|go for|go with)(?: we)?|"
                     r"i would (?:rather|prefer)(?: we)?|i think we should|we could|could we|can we|maybe we|we should|"
                     r"shall we|should we|let's|i'd be for|i'm for)\s+", re.IGNORECASE),
    "fr": re.compile(r"^(?:(?:alors|donc|bon|et|eh bien)[,]?\s+)*(?:je propose (?:de |qu'on |que l'on )?|je suggère "
                     r"(?:de |qu'on )?|on pourrait|et si on|pourquoi ne pas|il faudrait|je serais pour|je dirais|"
                     r"je préférerais|on devrait|je pense qu'il faut)\s+", re.IGNORECASE),
}
AGREED_ON = re.compile(r"^(?:(?:tout le monde|vous|on) (?:est|êtes) d'accord (?:pour|avec)|(?:does )?everyone "
                       r"agree (?:on|with|to)|are we agreed on)\s+", re.IGNORECASE)
IF = re.compile(r"^(?:if|unless|whether|si|s'il|s'ils|sauf si)\b", re.IGNORECASE)
ASKS = re.compile(r"^(?:(?:and|so|also|et|alors)[,]?\s+)?(?:is|are|does|do|did|can|could|will|would|has|have|"
                  r"should|if|whether|est-ce qu|qui|quand|combien|comment|pourquoi|where|when|what|who|how|why)\b",
                  re.IGNORECASE)
SUBJECT = re.compile(r"^we(?:'ll| will)?\s+(?=\w)", re.IGNORECASE)  # French keeps "on": "On garde…"
# "So the second decision, no brochure this year" / "The decision is, we…" / "La décision, c'est qu'on…": the
# head that names it a decision
DECISION_HEAD = re.compile(r"^(?:the|our|la|notre)\s+(?:\w+\s+)?(?:decision|décision)(?:"
                           r"(?:\s+(?:is|est))?(?:\s+(?:la suivante|as follows|the following))?\s*[,:]\s*"
                           r"(?:c'est\s+)?(?:qu(?:e\s+|')|that\s+)?|"
                           r"\s+(?:is|est)\s+(?:that|to|de|d'|qu(?:e\s+|'))|\s+c'est\s+(?:qu(?:e\s+|')|de\s+|d')?)\s*",
                           re.IGNORECASE)
TAIL = re.compile(r"(?:,\s*(?:because|since|as|parce que|car|comme ça|c'est aussi|that's decided|c'est validé|"
                  r"c'est acté|donc c'est acté|decided|no exceptions?)\b.*|[,.]?\s*(?:that's decided|decided|c'est "
                  r"décidé|c'est validé|everyone agree|any objections?)[.!?]*)$", re.IGNORECASE)
REFERENT_S = 60.0
ANSWER_LOOKBACK = 3  # how many sentences back a "nobody knows" may answer its question, within REFERENT_S / 2
# ("…certified in Germany yet?" "People will ask." "Good question." "I don't think anyone knows.")
LOOKBACK = 6  # sentences before an agreement where its proposal may be...
FAR_LOOKBACK = 10  # ...or, said within REFERENT_S / 2, this many (Whisper cuts one turn into several sentences)
SAME_DECISION = 0.6  # share of the shorter wording's words two statements of one decision have in common
SAME_SUBJECT = 0.3  # share of a proposal's words that a sentence after its agreement repeats to restate it


def statement(text: str, language: str) -> str:
    """A proposal or restatement as a short statement of what was decided: "Then we rent an oven for six
    months, because…" -> "Rent an oven for six months"."""
    fam = family(language)
    text = re.sub(cues.LEAD, "", text.strip(), flags=re.IGNORECASE)
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and cues.ANNOUNCE[fam].search(head + "."):  # "La décision est la suivante : …"
        text = rest.strip()
    text = cues.RESTATE.sub("", text)
    text = DECISION_HEAD.sub("", text)
    text = PROPOSAL_START[fam].sub("", text)
    text = AGREED_ON.sub("", text)
    text = SUBJECT.sub("", text)
    text = TAIL.sub("", text).strip(" ,;:.?!")
    return (text[:1].upper() + text[1:])[:MAX_ITEM] if text else ""


def unannounced(text: str) -> str:
    """A decision without the words that announce it ("The decision is, we choose the vendor." -> "We choose
    the vendor."): how the model often quotes it."""
    rest = DECISION_HEAD.sub("", text.strip())
    return rest[:1].upper() + rest[1:] if rest else text.strip()


def commits(text: str, fam: str) -> bool:
    """Does the sentence open with the group committing ("Okay, we send…", "Alors on garde…")?"""
    return bool(cues.COMMIT[fam].match(cues.RESTATE.sub("", re.sub(cues.LEAD, "", text.strip(), flags=re.I))))


def _is_agreement(sents: list[Sentence], i: int, fam: str) -> bool:
    text = sents[i].text.strip()
    if text.endswith("?"):
        return False
    if cues.WEAK_AGREE.match(text):  # "Yes." accepts anything: a proposal only right after one
        prev = sents[i - 1].text if i else ""
        return bool(cues.PROPOSE[fam].search(prev) or cues.CALL_FOR_AGREEMENT.search(prev) or commits(prev, fam))
    return bool(cues.AGREE[fam].match(text) or (len(text.split()) <= 10 and cues.AGREE_ANYWHERE[fam].search(text)))


def _proposal(sents: list[Sentence], i: int, fam: str, actions: set[int]) -> int | None:
    """The latest proposal in the few sentences before `i`, not a task given to someone."""
    call: int | None = None
    for j in range(i - 1, max(-1, i - 1 - FAR_LOOKBACK), -1):
        s = sents[j]
        if sents[i].time - s.time > (REFERENT_S if i - j <= LOOKBACK else REFERENT_S / 2):
            break
        if j in actions:
            return call  # the agreement accepts a task
        proposes = (cues.PROPOSE[fam].search(s.text) or commits(s.text, fam)) and not PROCESS.search(s.text)
        if proposes and len(content_words(statement(s.text, fam))) >= 2:
            return j
        if call is None and cues.CALL_FOR_AGREEMENT.search(s.text) and len(content_words(statement(s.text, fam))) >= 2:
            call = j  # "Tout le monde est d'accord pour le 21 juin ?": what was proposed before says it better
    return call


def _restatement(sents: list[Sentence], i: int, fam: str, actions: set[int], proposal: int | None) -> int | None:
    """The sentence at or just after `i` that states the choice as settled ("Okay, we send the voucher."), or
    repeats what was proposed ("The calendar sync ships as a beta.")."""
    for j in range(i, min(len(sents), i + 3)):
        s = sents[j]
        text = s.text.strip()
        if text.endswith("?") or j in actions or PROCESS.search(text):
            continue
        said = statement(text, fam)
        if len(content_words(cues.ANNOUNCE[fam].sub(" ", said))) < 2:  # "On part là-dessus." says no what
            continue
        if cues.ANNOUNCE[fam].search(text) or cues.RESTATE.match(text) or commits(text, fam):
            return j
        if j == i + 1 and proposal is None and len(content_words(statement(sents[i].text, fam))) < 2 \
                and cues.ANNOUNCE[fam].search(sents[i].text):  # "C'est décidé." then what is decided
            return j
        if j == i + 1 and proposal is not None and not commits(sents[proposal].text, fam) \
                and len(content_words(said)) >= 3 \
                and similarity(said, statement(sents[proposal].text, fam)) >= SAME_SUBJECT:
            return j
    return None


def _referent(sents: list[Sentence], i: int, actions: set[int]) -> int | None:
    for j in range(i - 1, max(-1, i - 4), -1):
        text = sents[j].text.strip()
        if sents[i].time - sents[j].time > REFERENT_S:
            break
        if not text.endswith("?") and j not in actions and len(content_words(text)) >= 3:
            return j
    return None


def _answered(sents: list[Sentence], i: int, fam: str, actions: set[int]) -> tuple[int, re.Match[str]] | None:
    """The closed question about what the group does that sentence `i` settles with a plain answer ("Do we
    move them automatically?" "No."), one sentence at most between them ("Should on-call get access? On
    Tuesday I had to wake my manager." "Yes."), and the answer's verdict ("No.")."""
    text = sents[i].text.strip()
    verdict = cues.VERDICT[fam].match(text)
    if i in actions or text.endswith("?") or verdict is None or cues.UNKNOWN[fam].search(text):
        return None
    for j in range(i - 1, max(-1, i - 3), -1):
        q = sents[j].text.strip()
        group = cues.GROUP_QUESTION[fam].match(q)
        if q.endswith("?") or (group and fam == "en"):
            asked = group and not (cues.CALL_FOR_AGREEMENT.search(q) or PROCESS.search(q))
            near = sents[i].time - sents[j].time <= REFERENT_S / 2
            return (j, verdict) if asked and near else None
    return None


def _settled(sents: list[Sentence], i: int, q: int, verdict: re.Match[str], fam: str, actions: set[int]) -> str:
    """What answer `i` settled about question `q`: the answer's own words when they restate it ("No. We don't
    move anyone automatically."), else the question with the verdict ("Hiring temporary staff: not for now")."""
    asked = statement(cues.ASKING.sub("", sents[q].text.strip(), count=1), fam)
    for j in range(i, min(len(sents), i + 3)):
        text = sents[j].text.strip()[verdict.end() if j == i else 0:]
        if j in actions or text.endswith("?") or PROCESS.search(text):
            break
        said = statement(text, fam)
        if len(content_words(said)) >= 2 and (commits(text, fam) or similarity(said, asked) >= SAME_SUBJECT):
            return said
    return f"{asked}{' ' if fam == 'fr' else ''}: {verdict.group('verdict').lower()}"[:MAX_ITEM]


def decisions(sents: list[Sentence], first: int, language: str, actions: set[int]) -> list[tuple[int, str]]:
    """(sentence index, decision) for each decision made at or after sentence `first`."""
    fam = family(language)
    out: list[tuple[int, str]] = []
    used = -1
    for i in range(first, len(sents)):
        if i <= used:
            continue
        text = sents[i].text.strip()
        if text.endswith("?") or PROCESS.search(text):
            continue
        announced = bool(cues.ANNOUNCE[fam].search(text))
        m = cues.ANNOUNCE[fam].search(text)
        if announced and m is not None and CONDITIONAL.search(text[: m.start()]):
            announced = False
        agreed = not announced and i not in actions and _is_agreement(sents, i, fam)
        opened = bool(cues.RESTATE.match(text)) or (i > 0 and bool(cues.WEAK_AGREE.match(sents[i - 1].text.strip())))
        restated = not announced and not agreed and opened and commits(text, fam) and i not in actions
        answered = _answered(sents, i, fam, actions)
        # a "no" (or a "yes" nothing else reads as agreement) settles the question: "Not for now." is no "Decided."
        if answered is not None and (cues.NEGATIVE.match(answered[1].group("verdict"))
                                     or not (announced or agreed or restated)):
            decision = _settled(sents, i, *answered, fam, actions)
            if len(content_words(decision)) >= 3:
                out.append((i, decision))
                used = i
                continue
        if not (announced or agreed or restated):
            continue
        proposal = _proposal(sents, i, fam, actions)
        since = min(i - LOOKBACK, next((k for k in range(i) if sents[i].time - sents[k].time <= REFERENT_S / 2), i))
        if restated and proposal is None and not any(
                s.text.strip().endswith("?") or _is_agreement(sents, k, fam)
                for k, s in enumerate(sents[max(0, since): i], start=max(0, since))):
            continue  # "Okay, we go through them." is no decision: nothing was asked or proposed in the 30 s before
        said = _restatement(sents, i, fam, actions, proposal)
        if said is None and proposal is not None and proposal <= used:
            continue  # agreed to again ("Me too." a little later): that decision is listed already
        pick = said if said is not None else proposal
        if pick is None and announced:  # "Decided." / "C'est décidé." confirms what was just said
            pick = _referent(sents, i, actions)
        if pick is None:
            continue
        decision = statement(sents[pick].text, language)
        if len(content_words(cues.ANNOUNCE[fam].sub(" ", decision))) < 2 or IF.match(decision):  # "If they…"
            continue
        used = max(i, pick)
        # the same decision proposed, then restated a little later (in other words, or agreed to again from the
        # sentence an earlier decision was taken from): listed once, as last stated
        out = [(k, d) for k, d in out if k != proposal and (sents[pick].time - sents[k].time > 2 * REFERENT_S
                                                             or similarity(d, decision) < SAME_DECISION)]
        out.append((pick, decision))
    return out


def open_questions(sents: list[Sentence], first: int, language: str) -> list[str]:
    """Questions whose answer is that nobody knows (the answer at or after sentence `first`)."""
    fam = family(language)
    out: list[str] = []
    for i in range(first, len(sents)):
        if not cues.UNKNOWN[fam].search(sents[i].text) or sents[i].text.strip().endswith("?"):
            continue
        for j in range(i - 1, max(-1, i - 1 - ANSWER_LOOKBACK), -1):
            q = sents[j].text.strip()
            if sents[i].time - sents[j].time > REFERENT_S / 2:
                break
            if not (q.endswith("?") or (j == i - 1 and ASKS.match(q))):  # Whisper drops some question marks
                continue
            if cues.SMALL_TALK.search(q) or cues.CALL_FOR_AGREEMENT.search(q) or REQUEST[fam].search(q) \
                    or PROPOSAL_START[fam].match(q) or len(content_words(q)) < 3:
                break
            q = re.sub(r"^(?:(?:and|also|one more thing|another question|one thing i(?:'m not sure about| still "
                       r"don't understand)|et|au fait|dernière chose|une dernière question|une question encore)"
                       r"[,:.]?\s+)+", "", q, flags=re.IGNORECASE)
            q = q[:1].upper() + q[1:MAX_ITEM]
            if q not in out:
                out.append(q)
            break
    return out
