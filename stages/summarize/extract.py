"""The offline extractor: decisions, action items and a summary from the words alone, no model.

Rules are about how people speak in meetings, in French and English, not about
any one meeting: a task is given to someone by name ("Julie, can you…", "Marc,
tu peux…", "Marc will…"), or taken in the first person ("I'll…", "je vais…");
a decision is announced ("we decided", "let's go with", "on garde", "c'est
validé"). The summary is the sentences that share the most words with the rest
of the stretch (a centrality ranking), in time order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from stages.models import Segment
from stages.summarize import lang
from stages.summarize.grounding import is_decision
from stages.summarize.schema import ActionItem, Highlight, MiniSummary
from stages.summarize.text import content_words, sentences

DAYS = {
    "en": r"monday|tuesday|wednesday|thursday|friday|saturday|sunday",
    "fr": r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche",
}
MONTHS = {
    "en": r"january|february|march|april|may|june|july|august|september|october|november|december",
    "fr": r"janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre",
}
ORDINALS = {
    "en": (r"first|second|third|fourth|fifth|\w+teenth|\w+tieth|twenty[- ]\w+|thirty[- ]first|\d{1,2}(?:st|nd|rd|th)?"),
    "fr": r"premier|1er|\d{1,2}|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|"
          r"seize|vingt(?:[- ]\w+)?|trente(?:[- ]\w+)?",
}
_EN_PART = r"(?: morning| afternoon| evening)?"  # "tomorrow morning" is one deadline, not "tomorrow" + a task word
_FR_PART = r"(?: matin| après-midi| soir)?"
_EN_WHEN = (rf"(?:next|this|coming)\s+(?:week|month|sprint|meeting|{DAYS['en']})|tomorrow{_EN_PART}|tonight|today|"
            rf"end of (?:the )?(?:day|week|month|quarter|year|sprint)|(?:the )?(?:{ORDINALS['en']})(?: of \w+)?|"
            rf"(?:{DAYS['en']}){_EN_PART}|(?:{MONTHS['en']})(?: \w+)?|the (?:next|following) \w+")
_FR_WHEN = (rf"(?:la )?semaine prochaine|le mois prochain|cette semaine|ce mois-ci|demain{_FR_PART}|ce soir|"
            rf"aujourd'hui|"
            rf"(?:la )?fin (?:du mois|de la semaine|de la journée|de l'année|du trimestre|du sprint)|"
            rf"(?:le )?(?:prochain|prochaine) \w+|(?:le )?(?:{ORDINALS['fr']})(?: {MONTHS['fr']})?|"
            rf"(?:{DAYS['fr']})(?: prochain)?{_FR_PART}|(?:{MONTHS['fr']})")
DUE = {
    "en": re.compile(rf"(?:\b(?:by|before|until|for|on|due)\s+(?:the\s+)?(?P<a>{_EN_WHEN})|\b(?P<b>tomorrow{_EN_PART}|"
                     rf"tonight|next week|this week|next month))\b", re.IGNORECASE),
    "fr": re.compile(rf"(?:\b(?:d'ici|avant|pour|jusqu'à|jusqu'au|au plus tard)\s+(?:le |la |l')?(?P<a>{_FR_WHEN})|"
                     rf"\b(?P<b>demain{_FR_PART}|la semaine prochaine|cette semaine|ce soir))\b", re.IGNORECASE),
}

NAME = r"(?P<name>[A-ZÀ-Ý][a-zà-ÿ]+(?:[-'][A-ZÀ-Ý]?[a-zà-ÿ]+)?)"
NOT_NAMES = {
    "okay", "ok", "so", "and", "but", "yes", "no", "well", "good", "great", "fine", "thanks", "right", "sure",
    "also", "then", "first", "next", "last", "hello", "hi", "alright", "sorry", "now", "honestly", "actually",
    "oui", "non", "alors", "bon", "bien", "merci", "donc", "bonjour", "parfait", "ensuite", "enfin", "premier",
    "deuxième", "sinon", "voilà", "et", "mais", "d'accord", "très", "super", "entendu", "attends", "écoute",
    "écoutez", "dernier", "petit", "puis", "ah", "oh", "euh", "hum", "the", "this", "that", "we", "you", "i",
    "let", "let's", "what", "how", "why", "when", "who", "le", "la", "les", "on", "nous", "vous", "je", "tu",
    "il", "elle", "est", "c'est", "pour", "sur", "en", "dans", "avec", "quoi", "qui", "comment", "pourquoi",
}
# Verbs that open an instruction when said right after a name ("Julie, send…" / "Julie, envoie…").
_EN_VERBS = """send write prepare call book update fix check review draft set organise organize schedule share follow
        contact order plan finish finalize finalise make look handle take ask find reach email mail test deploy
        ping chase confirm arrange print sign submit collect gather update list document merge close open
        investigate analyse analyze compare estimate translate clean run build ship migrate install"""
_FR_VERBS = """envoie envoyez prépare préparez appelle appelez rédige rédigez vérifie vérifiez regarde regardez
        contacte contactez organise organisez planifie planifiez relance relancez corrige corrigez commande
        commandez réserve réservez mets mettez fais faites prends prenez note notez transmets transmettez écris
        écrivez termine terminez finalise finalisez lance lancez partage partagez demande demandez trouve
        trouvez fixe fixez confirme confirmez imprime imprimez signe signez rassemble rassemblez récupère
        récupérez teste testez installe installez analyse analysez compare comparez estime estimez traduis
        traduisez nettoie nettoyez déploie déployez migre migrez documente documentez"""
IMPERATIVES = {"en": set(_EN_VERBS.split()), "fr": set(_FR_VERBS.split())}
_LEAD = r"^(?:(?:okay|ok|so|and|alright|right|well|then|now|alors|bon|donc|et|bien|très bien|d'accord)[,.]?\s+)*"
REQUEST = {
    "en": [
        re.compile(_LEAD + NAME + r",\s+(?:(?:can|could|would|will) you(?: please)?|please|you(?:'ll| will| "
                   r"should| need to| must| have to))\s+(?P<task>.+)", re.IGNORECASE),
    ],
    "fr": [
        re.compile(_LEAD + NAME + r",\s+(?:est-ce que tu (?:peux|pourrais|pourras|vas)|tu (?:peux|pourrais|pourras|"
                   r"vas|dois|devras|veux bien)|(?:peux|pourrais|pourras)-tu|je te laisse|merci de|il faudrait que "
                   r"tu)\s+(?P<task>.+)", re.IGNORECASE),
    ],
}
# "Julie, you own the screen." / "Marc, tu appelles le client." (a statement, not a question)
STATEMENT = {
    "en": re.compile(_LEAD + NAME + r",\s+you\s+(?P<task>(?:own|take|handle|lead|do|get|are in charge of)\b.+)",
                     re.IGNORECASE),
    "fr": re.compile(_LEAD + NAME + r",\s+tu\s+(?P<task>(?!nous\b|me\b|es\b|as\b|en\b|y\b)\w+\b.+)", re.IGNORECASE),
}
IMPERATIVE = re.compile(_LEAD + NAME + r",\s+(?P<task>(?P<verb>[\w'-]+)\b.*)", re.IGNORECASE)
THIRD = {
    "en": re.compile(r"\b" + NAME + r"\s+(?:will|is going to|'ll|should|needs to|has to|must|is in charge of|"
                     r"takes care of|agreed to|volunteered to)\s+(?P<task>.+)"),
    "fr": re.compile(r"\b" + NAME + r"\s+(?:va|doit|devra|s'occupe de|s'occupera de|se charge de|se chargera de|"
                     r"pourra)\s+(?P<task>.+)"),
}
FIRST = {
    "en": re.compile(r"\b(?:I(?:'ll| will| am going to|'m going to| can take care of| take care of| will take care "
                     r"of| volunteer to)|I'll make sure to|let me)\s+(?P<task>.+)", re.IGNORECASE),
    "fr": re.compile(r"\b(?:je (?:vais|m'occupe de|m'occuperai de|me charge de|m'engage à|peux m'occuper de|"
                     r"prends en charge)|je m'en occupe[,:]?)\s+(?P<task>.+)", re.IGNORECASE),
}
FIRST_SKIP = re.compile(r"^(?:share|partager|be brief|start|begin|commencer|try|essayer|think|réfléchir|check "
                        r"quickly|say|dire|ask|demander si|go back|revenir)\b", re.IGNORECASE)
ACCEPT = re.compile(r"^(?:yes|yeah|sure|okay|ok|fine|will do|no problem|d'accord|oui|ok|entendu|ça marche|"
                    r"pas de (?:souci|problème)|sans problème|c'est noté|bien sûr)\b", re.IGNORECASE)
DECISION = {
    "en": re.compile(r"\b(?:we(?:'ve| have)? decided|we decide|decision is|the decision|decided that|it's decided|"
                     r"that's decided|that is decided|it's settled|that's settled|we agree(?:d)? (?:to|that|on)|"
                     r"agreed[:,]|let's go with|we(?:'ll| will)? go with|we(?:'ll| will)? (?:stop|keep|drop|"
                     r"postpone|delay|switch to|adopt|cancel|approve|choose|pick|freeze|move to)|let's (?:stop|keep|"
                     r"drop|postpone|delay|switch to|adopt|cancel|approve|choose|pick|freeze|go ahead)|we (?:approve|"
                     r"choose|drop|postpone|cancel|adopt|keep|stop|reject|select)\b|approved\b|go ahead with)",
                     re.IGNORECASE),
    "fr": re.compile(r"\b(?:on décide|nous décidons|nous avons décidé|on a décidé|c'est décidé|la décision|"
                     r"décidé|on valide|nous validons|c'est validé|on part sur|on retient|nous retenons|on garde|"
                     r"nous gardons|on maintient|nous maintenons|on arrête|nous arrêtons|on abandonne|"
                     r"nous abandonnons|on repousse|nous repoussons|on reporte|nous reportons|on choisit|"
                     r"nous choisissons|on approuve|nous approuvons|on adopte|nous adoptons|on annule|"
                     r"nous annulons|c'est acté|on acte|d'accord pour)\b", re.IGNORECASE),
}
CONDITIONAL = re.compile(r"\b(?:if|whether|si|should we|est-ce qu'on|faut-il)\b", re.IGNORECASE)
PROCESS = re.compile(r"\b(?:hear me|my screen|mon écran|m'entend|start the meeting|next topic|sujet suivant|"
                     r"ordre du jour|agenda|keep (?:it|this|the|things|the meeting) (?:short|brief)|be brief|"
                     r"soyons brefs?|faire court|faire vite)\b", re.IGNORECASE)
REFERENT_S = 30.0
REFERENT_STATEMENTS = 3
FIGURE = re.compile(r"\d|\b(?:percent|pour ?cent|thousand|million|mille|euros?|dollars?|k€|%)\b", re.IGNORECASE)



@dataclass
class Sentence:
    time: float
    speaker: str
    text: str


def split(segments: list[Segment]) -> list[Sentence]:
    return [Sentence(seg.start, seg.speaker, s) for seg in segments for s in sentences(seg.text)]


def _family(language: str) -> str:
    return "fr" if language == "fr" else "en"


def find_due(text: str, language: str) -> tuple[str, str]:
    """(due phrase, text without it) for the first deadline said in `text`."""
    m = DUE[_family(language)].search(text)
    if not m:
        return "", text
    due = (m.group("a") or m.group("b") or "").strip()
    rest = (text[: m.start()] + text[m.end():]).strip()
    return due, rest


def _clean_task(task: str) -> str:
    task = re.sub(r"\s+([,;:.?!])", r"\1", re.sub(r"\s+", " ", task)).strip(" ,;:.?!")
    task = re.sub(r"^(?:please|s'il te plaît|stp)\s+", "", task, flags=re.IGNORECASE)
    task = re.sub(r",?\s*(?:please|s'il te plaît|stp|probably|probablement|directement)$", "", task,
                  flags=re.IGNORECASE)
    return task.strip(" ,;:.?!")


def _is_name(word: str) -> bool:
    return word.lower() not in NOT_NAMES and word[:1].isupper()


def _action(sentence: Sentence, language: str, me: str, others: str) -> ActionItem | None:
    fam = _family(language)
    text = sentence.text.strip()
    owner = ""
    task = ""
    question = text.endswith("?")
    for rx in REQUEST[fam]:
        m = rx.search(text)
        if m and _is_name(m.group("name")):
            owner, task = m.group("name"), m.group("task")
            break
    if not task:
        m = STATEMENT[fam].search(text)
        if m and _is_name(m.group("name")) and not question:
            owner, task = m.group("name"), m.group("task")
    if not task:
        m = IMPERATIVE.search(text)
        if m and _is_name(m.group("name")) and m.group("verb").lower() in IMPERATIVES[fam]:
            owner, task = m.group("name"), m.group("task")
    if not task:
        m = THIRD[fam].search(text)
        if m and _is_name(m.group("name")) and not question:
            owner, task = m.group("name"), m.group("task")
    if not task:
        m = FIRST[fam].search(text)
        if m and not question and not FIRST_SKIP.match(m.group("task")):
            owner, task = sentence.speaker, m.group("task")
    if not task or PROCESS.search(text):
        return None
    due, rest = find_due(task, language)
    task = _clean_task(rest)
    if len(content_words(task)) < 2:
        return None
    if owner.lower() in ("you", "vous"):
        owner = me
    elif owner.lower() in ("others", "participants"):
        owner = others
    return ActionItem(owner=owner, task=task, due=due, time=sentence.time)


def _referent(before: list[Sentence], time: float) -> Sentence | None:
    """What "That's decided." confirms: of the last few statements, the latest that announces something.

    Not simply the sentence before it, which is often an "Agreed." or "Fine by me." (or "Good.").
    Any speaker: loopback capture labels every remote participant alike."""
    said = [p for p in before if time - p.time <= REFERENT_S and len(content_words(p.text)) >= 3
            and not p.text.strip().endswith("?")][-REFERENT_STATEMENTS:]
    return next((p for p in reversed(said) if is_decision(p.text)), said[-1] if said else None)


def _decision(sentences_: list[Sentence], i: int, language: str) -> str | None:
    s = sentences_[i]
    text = s.text.strip()
    if text.endswith("?") or not DECISION[_family(language)].search(text) or PROCESS.search(text):
        return None
    m = DECISION[_family(language)].search(text)
    assert m is not None
    if CONDITIONAL.search(text[: m.start()]):
        return None
    if ":" in text[m.start():]:
        text = text[m.start():].split(":", 1)[1].strip() or text
    if len(content_words(text)) < 3:  # "That's decided." refers to what was just said
        said = _referent(sentences_[max(0, i - 12): i], s.time)
        if said is None:
            return None
        text = said.text.strip()
    text = re.sub(_LEAD, "", text, flags=re.IGNORECASE).strip()
    return text[:1].upper() + text[1:] if text else None


def rank(sentences_: list[Sentence]) -> list[tuple[float, int]]:
    """(score, index) best first: sentences sharing the most frequent content words, long enough to say something."""
    stems = [content_words(s.text) for s in sentences_]
    freq = Counter(w for ws in stems for w in set(ws))
    scored = []
    for i, (s, ws) in enumerate(zip(sentences_, stems, strict=True)):
        if len(ws) < 4 or s.text.strip().endswith("?") or PROCESS.search(s.text):
            continue
        score = sum(freq[w] for w in set(ws)) / (len(ws) ** 0.5)
        if FIGURE.search(s.text):
            score *= 1.2
        scored.append((score, i))
    return sorted(scored, reverse=True)


def _merge_reply_due(items: list[tuple[int, ActionItem]], sentences_: list[Sentence], language: str) -> None:
    """A deadline said just after the task belongs to it: the asker's next sentence ("Can we have it for the
    twelfth?") or an acceptance ("Sure, by Friday.")."""
    for index, item in items:
        if item.due:
            continue
        for reply in sentences_[index + 1: index + 3]:
            same = reply.speaker == sentences_[index].speaker
            if not same and not ACCEPT.match(reply.text.strip()):
                break
            due, _ = find_due(reply.text, language)
            if due:
                item.due = due
                break


def extract(segments: list[Segment], language: str, summary_sentences: int = 2) -> MiniSummary:
    me, others = lang.speakers(language)
    sents = split(segments)
    found: list[tuple[int, ActionItem]] = []
    decisions: list[str] = []
    for i, s in enumerate(sents):
        item = _action(s, language, me, others)
        if item is not None:
            found.append((i, item))
            continue
        decision = _decision(sents, i, language)
        if decision and decision not in decisions:
            decisions.append(decision)
    _merge_reply_due(found, sents, language)
    ranked = rank(sents)
    best = sorted(i for _, i in ranked[:summary_sentences])
    summary = " ".join(sents[i].text.strip() for i in best)
    figures = [sents[i].text.strip() for _, i in ranked if FIGURE.search(sents[i].text) and i not in best][:3]
    questions = []
    for i, s in enumerate(sents):
        t = s.text.strip()
        if not t.endswith("?") or len(content_words(t)) < 3 or PROCESS.search(t):
            continue
        if any(i == j for j, _ in found):
            continue
        answer = next((r for r in sents[i + 1: i + 2] if r.speaker != s.speaker), None)
        if answer is None or not ACCEPT.match(answer.text.strip()):
            questions.append(t)
    highlights = [Highlight(time=sents[i].time, text=sents[i].text.strip()) for i in best]
    return MiniSummary(summary=summary, key_points=figures, decisions=decisions,
                       action_items=[item for _, item in found], open_questions=questions[:3],
                       highlights=highlights)
