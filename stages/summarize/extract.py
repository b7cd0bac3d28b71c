"""The offline extractor: decisions, action items, open questions and a summary from the words alone.

Rules are about how people speak in meetings, in French and English, not about
any one meeting, and never about who speaks (an imported recording has one label
for everyone):
- a task is given to someone by name ("Julie, can you…", "Marc, tu peux…", "Omar,
  that's yours", "Marc will…"), or taken in the first person ("I'll…", "je vais…",
  "je m'en charge" for the task just named);
- a decision is a proposal followed by agreement ("What if we rent one?" "Let's do
  that."), stated as whoever leads restates it ("Okay, we send the voucher.") or as
  it was proposed, or one announced outright ("c'est décidé", "on part sur…");
- a question is open when the answer is that nobody knows ("No idea.").
`context` is the transcript just before the stretch: a proposal made there still
counts for an agreement made here, but what was said there is never listed again.
The summary is the sentences sharing the most words with the rest (centrality), in time order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from stages.models import Segment
from stages.summarize import cues, lang
from stages.summarize.schema import ActionItem, Highlight, MiniSummary
from stages.summarize.text import content_words, sentences, similarity

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
_COUNT = r"(?:\d+|a|one|two|three|four|five|six|ten|fifteen|a few|un|une|deux|trois|quatre|cinq|six|huit|dix|quinze)"
_EN_PART = r"(?: morning| afternoon| evening)?"  # "tomorrow morning" is one deadline, not "tomorrow" + a task word
_FR_PART = r"(?: matin| après-midi| soir)?"
_EN_WHEN = (rf"(?:next|this|coming)\s+(?:week|month|sprint|meeting|{DAYS['en']})|tomorrow{_EN_PART}|tonight|today|"
            rf"this (?:morning|afternoon|evening)|half term|(?:early|mid|late)[- ](?:{MONTHS['en']})|"
            rf"end of (?:the |this |next )?(?:day|week|month|quarter|year|sprint|{MONTHS['en']})|"
            rf"(?:the )?(?:{ORDINALS['en']})(?: of \w+)?|(?:{DAYS['en']}){_EN_PART}|(?:{MONTHS['en']})(?: \w+)?|"
            rf"the (?:next|following) \w+|{_COUNT} (?:days?|weeks?|months?)")
_FR_WHEN = (rf"(?:la )?semaine prochaine|le mois prochain|cette semaine|ce mois-ci|demain{_FR_PART}|ce soir|"
            rf"aujourd'hui|cet après-midi|ce matin|les vacances(?: de \w+)?|"
            rf"(?:la )?fin (?:du mois|de la semaine|de la journée|de l'année|du trimestre|du sprint|"
            rf"(?:{MONTHS['fr']}))|(?:la )?réunion du \w+|la prochaine réunion|(?:le )?prochain comité|"
            rf"(?:le )?(?:prochain|prochaine) \w+|(?:le )?(?:{ORDINALS['fr']})(?: {MONTHS['fr']})?|"
            rf"(?:{DAYS['fr']})(?: prochain)?{_FR_PART}|(?:{MONTHS['fr']})|la veille(?: au soir)?|huitaine|"
            rf"(?:les )?{_COUNT} (?:jours|semaines|mois)(?: qui viennent)?")
DUE = {
    "en": re.compile(rf"(?:\b(?:by|before|until|for|on|due|in|within|at the latest)\s+(?:the\s+)?(?P<a>{_EN_WHEN})|"
                     rf"\b(?P<b>tomorrow{_EN_PART}|tonight|today|this (?:morning|afternoon|evening)|next week|"
                     rf"(?:{DAYS['en']}){_EN_PART}|"
                     rf"this week|next month|(?:early|mid|late) (?:{MONTHS['en']})|the end of the month))\b",
                     re.IGNORECASE),
    "fr": re.compile(rf"(?:\b(?:d'ici|avant|pour|jusqu'à|jusqu'au|au plus tard|dès|sous|dans)\s+(?:le |la |l'|les )?"
                     rf"(?P<a>{_FR_WHEN})|\b(?P<b>demain{_FR_PART}|la semaine prochaine|cette semaine|ce soir|"
                     rf"cet après-midi|ce matin|aujourd'hui|la veille(?: au soir)?|"
                     rf"(?:{DAYS['fr']})(?: prochain)?{_FR_PART}))\b", re.IGNORECASE),
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
    "lovely", "perfect", "exactly", "excellent", "noted", "noté", "tant", "exact", "pas", "bref", "hmm", "agreed",
    "it", "they", "he", "she", "there", "someone", "somebody", "everyone", "nobody", "marketing", "product",
    "billing", "finance", "sales", "ils", "elles", "ça", "cela", "personne", "quelqu'un", "tout", "chacun", "one",
}
# Verbs that open an instruction when said right after a name ("Julie, send…" / "Julie, envoie…").
_EN_VERBS = """send write prepare call book update fix check review draft set organise organize schedule share follow
        contact order plan finish finalize finalise make look handle take ask find reach email mail test deploy
        ping chase confirm arrange print sign submit collect gather update list document merge close open
        investigate analyse analyze compare estimate translate clean run build ship migrate install get have
        talk tell go rent buy draw bring put move give offer pay sort decide"""
_FR_VERBS = """envoie envoyez prépare préparez appelle appelez rédige rédigez vérifie vérifiez regarde regardez
        contacte contactez organise organisez planifie planifiez relance relancez corrige corrigez commande
        commandez réserve réservez mets mettez fais faites prends prenez note notez transmets transmettez écris
        écrivez termine terminez finalise finalisez lance lancez partage partagez demande demandez trouve
        trouvez fixe fixez confirme confirmez imprime imprimez signe signez rassemble rassemblez récupère
        récupérez teste testez installe installez analyse analysez compare comparez estime estimez traduis
        traduisez nettoie nettoyez déploie déployez migre migrez documente documentez préviens prévenez"""
IMPERATIVES = {"en": set(_EN_VERBS.split()), "fr": set(_FR_VERBS.split())}
_LEAD = cues.LEAD
_GAP = r"(?:[^,.?!]{0,60},\s+)?"  # "Maya, you're in touch with them, can you…": a clause between name and request
REQUEST = {
    "en": re.compile(_LEAD + NAME + r",\s+" + _GAP + r"(?:(?:can|could|would|will) you(?: please)?|please|you(?:'ll| "
                     r"will| should| need to| must| have to)|i'd like (?:you to )?|i want you to)\s+(?P<task>.+)",
                     re.IGNORECASE),
    "fr": re.compile(_LEAD + NAME + r",\s+" + _GAP + r"(?:est-ce que (?:tu|vous) (?:peux|pourrais|pourras|vas|pouvez|"
                     r"pourriez)|tu (?:peux|pourrais|pourras|vas|dois|devras|veux bien)|vous (?:pouvez|pourriez|"
                     r"allez|devez)|(?:peux|pourrais|pourras)-tu|(?:pouvez|pourriez)-vous|je te laisse|je vous "
                     r"laisse|merci de|il faudrait que (?:tu|vous)|je voudrais que (?:tu|vous))\s+(?P<task>.+)",
                     re.IGNORECASE),
}
# "Julie, you own the screen." / "Marc, tu appelles le client." (a statement, not a question)
STATEMENT = {
    "en": re.compile(_LEAD + NAME + r",\s+you\s+(?P<task>(?:own|take|handle|lead|do|get|are in charge of|talk|go|"
                     r"write|call|send|prepare|book)\b.+)", re.IGNORECASE),
    "fr": re.compile(_LEAD + NAME + r",\s+(?:tu|vous)\s+(?P<task>(?!nous (?:fais|faites|dis|dites|racontes|"
                     r"expliques)\b|me\b|es\b|as\b|en\b|y\b|êtes\b|avez\b|"
                     r"connais\b|connaissez\b|sais\b|savez\b|crois\b|pensez\b|penses\b)\w+\b.+)", re.IGNORECASE),
}
IMPERATIVE = re.compile(_LEAD + NAME + r",\s+(?P<task>(?P<verb>[\w'-]+)\b.*)", re.IGNORECASE)
# "Omar, that's yours." / "Victor, you." / "Yves, les affiches, c'est pour toi." : the task was named just before
YOURS = re.compile(_LEAD + NAME + r",\s+(?:(?P<what>[^,.?!]{3,60}),\s+)?(?:that's (?:yours|you|for you)|you(?: do it)?"
                   r"[.!]?$|it's yours|c'est (?:pour )?toi|c'est à toi|c'est pour vous|à toi)", re.IGNORECASE)
THIRD = {
    "en": re.compile(r"\b" + NAME + r"\s+(?:will|is going to|'ll|should|needs to|has to|must|is in charge of|"
                     r"takes care of|agreed to|volunteered to)\s+(?P<task>.+)"),
    "fr": re.compile(r"\b" + NAME + r"\s+(?:va|doit|devra|s'occupe de|s'occupera de|se charge de|se chargera de|"
                     r"pourra)\s+(?P<task>.+)"),
}
FIRST = {
    "en": re.compile(r"\b(?:I(?:'ll| will| am going to|'m going to| can take care of| take care of| will take care "
                     r"of| volunteer to| can)|I'll make sure to|let me)\s+(?P<task>.+)", re.IGNORECASE),
    "fr": re.compile(r"\b(?:je (?:vais|m'occupe d(?:e|')|m'occuperai d(?:e|')|me charge d(?:e|')|m'engage à|"
                     r"peux m'occuper d(?:e|')|prends en charge|peux)|je m'en occupe[,:]?|je m'en charge[,:]?)"
                     r"\s*(?P<task>(?<=')\S.+|(?<=\s)\S.+)", re.IGNORECASE),
}
# First-person present that commits: "je leur écris cet après-midi", "je l'active dès demain"; in English at the
# start of a sentence only, where Whisper often drops the "'ll" ("I ask the print shop for…").
FIRST_PRESENT = {
    "en": re.compile(_LEAD + r"I (?P<verb>" + "|".join(sorted(IMPERATIVES["en"])) + r")\b(?P<task>.*)", re.IGNORECASE),
    "fr": re.compile(r"\b(?:je|j')\s*(?:(?:le|la|les|l'|lui|leur|vous|te|y|en)\s*)?(?P<verb>envoie|fais|prépare|"
                     r"rédige|appelle|écris|contacte|passe|réserve|commande|termine|refais|mets|affiche|vérifie|"
                     r"active|diffuse|présente|organise|demande|relance|pose|note|regarde|sélectionne)\b"
                     r"(?P<task>.*)", re.IGNORECASE),
}
FIRST_SKIP = re.compile(r"^(?:share|partager|be brief|start|begin|commencer|try|essayer|think|réfléchir|check "
                        r"quickly|say|dire|ask demander si|go back|revenir|live with|see|hear|imagine|understand|"
                        r"vous répondre|te répondre|do that|do it|vous en|répondre|comprendre|être|come|venir|"
                        r"leave|tell you|vous dire|bring|apporter)\b", re.IGNORECASE)
# "I'll do it." / "Je m'en charge." / "Je le fais avant le quinze." : the task is the one named just before.
TAKE_IT = re.compile(r"^(?:(?:i'll|i will|i can) (?:do|take|handle) (?:it|that|this)|i'll take care of (?:it|that)|"
                     r"je m'en (?:charge|occupe)|je (?:le|la|les) (?:fais|rédige|prépare|prends|envoie)|je peux m'en "
                     r"(?:charger|occuper))\b", re.IGNORECASE)
# A task said without an owner: what the next "that's yours" or "je m'en charge" is about.
NEED = re.compile(r"\b(?:some(?:one|body) (?:has|needs) to|(?:we|i) (?:also )?need(?: someone to| to)?|"
                  r"who(?:'s| is)? (?:doing|does|handles|writes|takes)|il (?:faut|faudrait|faudra)(?: aussi)?|qui "
                  r"(?:s'occupe|se charge)(?: de)?|qui(?= (?:fait|rédige|prépare|écrit|appelle|envoie)))\s+"
                  r"(?P<task>[^?]+)", re.IGNORECASE)
ACCEPT = re.compile(r"^(?:yes|yeah|sure|okay|ok|fine|will do|no problem|d'accord|oui|ok|entendu|ça marche|"
                    r"pas de (?:souci|problème)|sans problème|c'est noté|bien sûr|understood|right)\b", re.IGNORECASE)
CONDITIONAL = re.compile(r"\b(?:if|whether|si|should we|est-ce qu'on|faut-il)\b", re.IGNORECASE)
PROCESS = re.compile(r"\b(?:hear me|my screen|mon écran|m'entend|start the meeting|next topic|sujet suivant|"
                     r"keep (?:it|this|the|things|the meeting) (?:short|brief|to)|be brief|"
                     r"soyons brefs?|faire court|faire vite|wrap up|on s'arrête|come back to|on en reparle|"
                     r"leave (?:it|that) open|same time)\b", re.IGNORECASE)
FIGURE = re.compile(r"\d|\b(?:percent|pour ?cent|thousand|million|mille|euros?|dollars?|pounds?|k€|%)\b", re.IGNORECASE)
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
TAIL = re.compile(r"(?:,\s*(?:because|since|as|parce que|car|comme ça|c'est aussi|that's decided|c'est validé|"
                  r"c'est acté|donc c'est acté|decided|no exceptions?)\b.*|[,.]?\s*(?:that's decided|decided|c'est "
                  r"décidé|c'est validé|everyone agree|any objections?)[.!?]*)$", re.IGNORECASE)
REFERENT_S = 60.0
LOOKBACK = 6  # sentences before an agreement where its proposal may be
SAME_DECISION = 0.6  # share of the shorter wording's words two statements of one decision have in common
SAME_SUBJECT = 0.3  # share of a proposal's words that a sentence after its agreement repeats to restate it
PRONOUN = re.compile(r"^(?:nous |vous |me |m'|te |t')?(?:le|la|les|l')\b\s*(?!\w+ (?:de|du|des)\b)",
                     re.IGNORECASE)
DEMONSTRATIVE = re.compile(r"\b(?:that|this|it|ça|cela|celui-ci|celle-ci)\b", re.IGNORECASE)
ASKED = re.compile(r"^(?:(?:can|could|would|will) you(?: please)?|est-ce que (?:tu|vous) (?:peux|pourrais|pouvez|"
                   r"pourriez)|(?:peux|pourrais)-tu|(?:pouvez|pourriez)-vous)\s+(?P<task>.+)", re.IGNORECASE)
ADDRESSED = re.compile(_LEAD + NAME + r",\s+[^?]{3,80}[.]$")  # "Maya, you're in touch with them." then "Can you…"
BUT = re.compile(r",?\s+(?:but|mais|sauf que|except)\b.*$", re.IGNORECASE)
AND_I = re.compile(r"(?:,?\s+(?:and|et) (?:I(?:'ll| will)?|je)|,\s+(?:I'll|I will|je|j'))\b.*$", re.IGNORECASE)
MAX_ITEM = 160


@dataclass
class Sentence:
    time: float
    speaker: str
    text: str


def _clauses(text: str) -> list[str]:
    """Whisper often joins a reply to what follows with a comma ("Okay, let's do that, the sync ships as a
    beta."): an agreement or an announcement that opens a sentence is a sentence of its own."""
    m = re.match(cues.LEAD + r"(?:" + cues.AGREE["en"].pattern[len(cues.LEAD):] + r"|"
                 + cues.AGREE["fr"].pattern[len(cues.LEAD):] + r"|(?:that's|it's|c'est) (?:decided|settled|décidé|"
                 r"validé|acté)|agreed|d'accord|okay|yes|oui)\s*,\s+(?=\S+\s+\S+\s+\S+)", text, re.IGNORECASE)
    if not m:
        return [text]
    return [text[: m.end()].rstrip(" ,") + ".", *_clauses(text[m.end():][:1].upper() + text[m.end() + 1:])]


def split(segments: Sequence[Segment]) -> list[Sentence]:
    return [Sentence(seg.start, seg.speaker, c) for seg in segments for s in sentences(seg.text) for c in _clauses(s)]


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
    task = re.sub(r"^(?:please|s'il te plaît|stp|also|aussi)\s+", "", task, flags=re.IGNORECASE)
    task = re.sub(r",?\s*(?:please|s'il te plaît|stp|probably|probablement|directement|if possible|si possible|"
                  r"au plus vite|ideally|at the latest|au plus tard)$", "", task, flags=re.IGNORECASE)
    task = re.split(r"[.?!]\s|\?$", task)[0]
    return task.strip(" ,;:.?!")[:MAX_ITEM]


def _is_name(word: str) -> bool:
    return word.lower() not in NOT_NAMES and word[:1].isupper()


def _named_task(sents: list[Sentence], i: int) -> str:
    """The task named without an owner in the few sentences before `i` ("Someone has to do the risk assessment.")."""
    for prev in reversed(sents[max(0, i - 6): i]):
        m = NEED.search(prev.text)
        if m:
            return m.group("task")
    return ""


def _action(sents: list[Sentence], i: int, language: str, me: str, others: str) -> ActionItem | None:
    fam = _family(language)
    sentence = sents[i]
    text = sentence.text.strip()
    owner = ""
    task = ""
    short_ok = False
    borrowed = False  # the task was named in an earlier sentence: a deadline may be in this one
    question = text.endswith("?")
    m = REQUEST[fam].search(text)
    if m and _is_name(m.group("name")):
        owner, task = m.group("name"), m.group("task")
    if not task and i > 0:
        m, said = ASKED.match(re.sub(cues.LEAD, "", text, flags=re.IGNORECASE)), ADDRESSED.match(sents[i - 1].text)
        if m and said and _is_name(said.group("name")):
            owner, task = said.group("name"), m.group("task")
    if not task:
        m = YOURS.search(text)
        if m and _is_name(m.group("name")):
            owner = m.group("name")
            task = m.group("what") or _named_task(sents, i)
            borrowed = not m.group("what")
            short_ok = bool(m.group("what"))  # "Yves, les affiches, c'est pour toi.": the thing is the task
            if not task and i + 1 < len(sents):  # "Victor, you. Have a draft ready for the next meeting."
                task = sents[i + 1].text
    if not task:
        m = STATEMENT[fam].search(text)
        if m and _is_name(m.group("name")) and (fam == "fr" or not question):  # "Marc, tu appelles le client ?"
            owner, task = m.group("name"), m.group("task")
    if not task:
        m = IMPERATIVE.search(text)
        if m and _is_name(m.group("name")) and m.group("verb").lower() in IMPERATIVES[fam]:
            owner, task = m.group("name"), m.group("task")
    if not task:
        m = THIRD[fam].search(text)
        if m and _is_name(m.group("name")) and not question:
            owner, task = m.group("name"), m.group("task")
    if not task and not question:
        m = TAKE_IT.search(re.sub(cues.LEAD, "", text, flags=re.IGNORECASE))
        if m:
            owner, task = sentence.speaker, _named_task(sents, i)
            borrowed = True
    if not task and not question:
        m = FIRST[fam].search(text)
        if m and not FIRST_SKIP.match(m.group("task")):
            owner, task = sentence.speaker, m.group("task")
        else:
            m = FIRST_PRESENT[fam].search(text)
            if m:
                owner, task = sentence.speaker, f"{m.group('verb')}{m.group('task')}"
    if not task or PROCESS.search(text):
        return None
    task = BUT.sub("", AND_I.sub("", task))  # "Kate, send me the list and I'll approve the order": Kate's part
    if (DEMONSTRATIVE.search(task) and len(content_words(task)) <= 3) or PRONOUN.match(task):
        task = _named_task(sents, i) or task  # "Sam, could you write that text?" / "Damien, tu nous le présentes"
    due, rest = find_due(task, language)
    if not due and borrowed:
        due = find_due(text, language)[0]
    task = _clean_task(rest)
    if len(content_words(task)) < (1 if short_ok else 2):
        return None
    if owner.lower() in ("you", "vous"):
        owner = me
    elif owner.lower() in ("others", "participants"):
        owner = others
    return ActionItem(owner=owner, task=task, due=due, time=sentence.time)


def statement(text: str, language: str) -> str:
    """A proposal or restatement as a short statement of what was decided: "Then we rent an oven for six
    months, because…" -> "Rent an oven for six months"."""
    fam = _family(language)
    text = re.sub(cues.LEAD, "", text.strip(), flags=re.IGNORECASE)
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and cues.ANNOUNCE[fam].search(head + "."):  # "La décision est la suivante : …"
        text = rest.strip()
    text = cues.RESTATE.sub("", text)
    text = PROPOSAL_START[fam].sub("", text)
    text = AGREED_ON.sub("", text)
    text = SUBJECT.sub("", text)
    text = TAIL.sub("", text).strip(" ,;:.?!")
    return (text[:1].upper() + text[1:])[:MAX_ITEM] if text else ""


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
    for j in range(i - 1, max(-1, i - 1 - LOOKBACK), -1):
        s = sents[j]
        if sents[i].time - s.time > REFERENT_S:
            break
        if j in actions:
            return call  # the agreement accepts a task
        proposes = cues.PROPOSE[fam].search(s.text) or commits(s.text, fam)
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


def decisions(sents: list[Sentence], first: int, language: str, actions: set[int]) -> list[tuple[int, str]]:
    """(sentence index, decision) for each decision made at or after sentence `first`."""
    fam = _family(language)
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
        if not (announced or agreed or restated):
            continue
        proposal = _proposal(sents, i, fam, actions)
        if restated and proposal is None and not any(
                s.text.strip().endswith("?") or _is_agreement(sents, k, fam)
                for k, s in enumerate(sents[max(0, i - LOOKBACK): i], start=max(0, i - LOOKBACK))):
            continue  # "Okay, we go through them." is no decision: nothing was asked or proposed before
        said = _restatement(sents, i, fam, actions, proposal)
        pick = said if said is not None else proposal
        if pick is None and announced:  # "Decided." / "C'est décidé." confirms what was just said
            pick = _referent(sents, i, actions)
        if pick is None:
            continue
        decision = statement(sents[pick].text, language)
        if len(content_words(cues.ANNOUNCE[fam].sub(" ", decision))) < 2 or IF.match(decision):  # "If they…"
            continue
        used = max(i, pick)
        # the same decision proposed, then restated a little later: listed once, as last stated
        out = [(k, d) for k, d in out if sents[pick].time - sents[k].time > 2 * REFERENT_S
               or similarity(d, decision) < SAME_DECISION]
        out.append((pick, decision))
    return out


def open_questions(sents: list[Sentence], first: int, language: str) -> list[str]:
    """Questions whose answer is that nobody knows (the answer at or after sentence `first`)."""
    fam = _family(language)
    out: list[str] = []
    for i in range(first, len(sents)):
        if not cues.UNKNOWN[fam].search(sents[i].text) or sents[i].text.strip().endswith("?"):
            continue
        for j in range(i - 1, max(-1, i - 3), -1):
            q = sents[j].text.strip()
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
            accepts = bool(ACCEPT.match(reply.text.strip()))
            if not accepts and (reply.speaker != sentences_[index].speaker or len(reply.text.split()) > 8):
                break
            due, _ = find_due(reply.text, language)
            if due:
                item.due = due
                break


def _fold_acceptances(items: list[tuple[int, ActionItem]], sents: list[Sentence]) -> list[tuple[int, ActionItem]]:
    """ "Marcus, can you call the landlord?" "Sure, I'll call him Wednesday.": one task, the one asked for."""
    out: list[tuple[int, ActionItem]] = []
    for index, item in items:
        asked = next((k for k in reversed(out) if 0 < index - k[0] <= 2 and k[1].owner != item.owner), None)
        accepted = ACCEPT.match(sents[index].text.strip()) or (
            index > 0 and ACCEPT.match(sents[index - 1].text.strip()) and len(sents[index - 1].text.split()) <= 3)
        if asked is not None and accepted:
            if not asked[1].due:
                asked[1].due = item.due
            continue
        out.append((index, item))
    return out


def extract(segments: Sequence[Segment], language: str, summary_sentences: int = 2,
            context: Sequence[Segment] = ()) -> MiniSummary:
    me, others = lang.speakers(language)
    before = split(context)
    sents = before + split(segments)
    first = len(before)
    found: list[tuple[int, ActionItem]] = []
    for i in range(len(sents)):
        item = _action(sents, i, language, me, others)
        if item is not None:
            found.append((i, item))
    _merge_reply_due(found, sents, language)
    found = _fold_acceptances(found, sents)
    actions = {i for i, _ in found}
    found = [(i, item) for i, item in found if i >= first]
    said = [d for _, d in decisions(sents, first, language, actions)]
    own = sents[first:]
    ranked = rank(own)
    best = sorted(i for _, i in ranked[:summary_sentences])
    summary = " ".join(own[i].text.strip() for i in best)
    figures = [own[i].text.strip() for _, i in ranked if FIGURE.search(own[i].text) and i not in best][:3]
    highlights = [Highlight(time=own[i].time, text=own[i].text.strip()) for i in best]
    return MiniSummary(summary=summary, key_points=figures, decisions=list(dict.fromkeys(said)),
                       action_items=[item for _, item in found],
                       open_questions=open_questions(sents, first, language)[:3], highlights=highlights)
