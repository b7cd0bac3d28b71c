"""Action items from the words alone: who is to do what, by when (the offline rules).

A task is given to someone by name ("Julie, can you…", "Marc, tu peux…", "Omar, that's
yours" for the task just named, "Marc will…"), or taken in the first person ("I'll…",
"je vais…", "je m'en charge" for the task just named). A deadline is a day, a date or a
delay said with the task, or in the reply that accepts it.
"""

from __future__ import annotations

import re

from stages.summarize import cues
from stages.summarize.schema import ActionItem
from stages.summarize.sentences import MAX_ITEM, PROCESS, Sentence, family
from stages.summarize.text import content_words

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
    "thank", "it", "they", "he", "she", "there", "someone", "somebody", "everyone", "nobody", "marketing", "product",
    "billing", "finance", "sales", "ils", "elles", "ça", "cela", "personne", "quelqu'un", "tout", "chacun", "one",
    "please", "maybe", "perhaps", "anyone", "anybody", "guys", "folks", "team", "toi", "moi", "lui", "eux", "peut-être",
    "aussi", "demain", "today", "tomorrow", "aujourd'hui", "maintenant", "hey",
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
# the comma after the name is optional: Whisper often leaves it out ("Bob can you update…"), and the request
# right after the name is what says it is a name being spoken to
REQUEST = {
    "en": re.compile(_LEAD + NAME + r",?\s+" + _GAP + r"(?:(?:can|could|would|will) you(?: please)?|please|you(?:'ll| "
                     r"will| should| need to| must| have to)|i'd like(?: you to)?|i want you to)\s+(?P<task>.+)",
                     re.IGNORECASE),
    "fr": re.compile(_LEAD + NAME + r",?\s+" + _GAP + r"(?:est-ce que (?:tu|vous) (?:peux|pourrais|pourras|vas|pouvez|"
                     r"pourriez)|tu (?:peux|pourrais|pourras|vas|dois|devras|veux bien)|vous (?:pouvez|pourriez|"
                     r"allez|devez)|(?:peux|pourrais|pourras)-tu|(?:pouvez|pourriez)-vous|je te laisse|je vous "
                     r"laisse|merci de|il faudrait que (?:tu|vous)|je voudrais que (?:tu|vous))\s+(?P<task>.+)",
                     re.IGNORECASE),
}
# "Julie, you own the screen." / "Marc, tu appelles le client." (a statement, not a question; the comma is
# optional, as in REQUEST)
STATEMENT = {
    "en": re.compile(_LEAD + NAME + r",?\s+you\s+(?P<task>(?:own|take|handle|lead|do|get|are in charge of|talk|go|"
                     r"write|call|send|prepare|book)\b.+)", re.IGNORECASE),
    "fr": re.compile(_LEAD + NAME + r",?\s+(?:tu|vous)\s+(?P<task>(?!nous (?:fais|faites|dis|dites|racontes|"
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
# start of a sentence only, where Whisper often drops the "'ll" ("I ask the print shop for…"). "I have…" says
# what someone has ("I have a new headset"), never what they will do.
FIRST_PRESENT = {
    "en": re.compile(_LEAD + r"I (?P<verb>" + "|".join(sorted(IMPERATIVES["en"] - {"have"})) + r")\b(?P<task>.*)",
                     re.IGNORECASE),
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
PRONOUN = re.compile(r"^(?:nous |vous |me |m'|te |t')?(?:le|la|les|l')\b\s*(?!\w+ (?:de|du|des)\b)",
                     re.IGNORECASE)
DEMONSTRATIVE = re.compile(r"\b(?:that|this|it|ça|cela|celui-ci|celle-ci)\b", re.IGNORECASE)
ASKED = re.compile(r"^(?:(?:can|could|would|will) you(?: please)?|est-ce que (?:tu|vous) (?:peux|pourrais|pouvez|"
                   r"pourriez)|(?:peux|pourrais)-tu|(?:pouvez|pourriez)-vous)\s+(?P<task>.+)", re.IGNORECASE)
ADDRESSED = re.compile(_LEAD + NAME + r",\s+[^?]{3,80}[.]$")  # "Maya, you're in touch with them." then "Can you…"
BUT = re.compile(r",?\s+(?:but|mais|sauf que|except)\b.*$", re.IGNORECASE)
AND_I = re.compile(r"(?:,?\s+(?:and|et) (?:I(?:'ll| will)?|je)|,\s+(?:I'll|I will|je|j'))\b.*$", re.IGNORECASE)


def find_due(text: str, language: str) -> tuple[str, str]:
    """(due phrase, text without it) for the first deadline said in `text`."""
    m = DUE[family(language)].search(text)
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


def find_action(sents: list[Sentence], i: int, language: str, me: str, others: str) -> ActionItem | None:
    fam = family(language)
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


def merge_reply_due(items: list[tuple[int, ActionItem]], sentences_: list[Sentence], language: str) -> None:
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


def fold_acceptances(items: list[tuple[int, ActionItem]], sents: list[Sentence]) -> list[tuple[int, ActionItem]]:
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
