"""What the LLM is asked, in the meeting's language (a French meeting is summarized in French).

Two tasks: extract a structured mini-summary from a few minutes of transcript,
and refine the overall summary from mini-summaries (never from raw transcript);
once the meeting is over, the last minutes only add a sentence or two to it.
Prompts are written in the meeting's language because small models answer in
the language they are spoken to. JSON schemas are flat (no $ref), every field
required: what OpenAI's strict mode, Ollama's `format` and llama.cpp grammars
all accept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stages.models import Segment
from stages.speakers.labels import number_of
from stages.summarize import lang
from stages.summarize.schema import MiniSummary
from stages.summarize.text import clock
from stages.summarize.transcript import blocks

LIMITS = {"key_points": 3, "highlights": 2}
BRIEF_KEY_POINTS = 1  # a brief answer (window_schema)
BRIEF_SUMMARY_CHARS = 250
CLOSING_CHARS = 400  # the sentences the last minutes add to the overall summary
MERGE_GAP_S = 3.0

_STR = {"type": "string"}
_LIST = {"type": "array", "items": _STR}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _text(limit: int, bounded: bool) -> dict[str, Any]:
    return {"type": "string", "maxLength": limit} if bounded else dict(_STR)


def _array(items: dict[str, Any], limit: int, bounded: bool) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": limit} if bounded else {"type": "array", "items": items}


def window_schema(bounded: bool = False, brief: bool = False) -> dict[str, Any]:
    """The mini-summary schema. `bounded` adds maxLength/maxItems, which grammar-constrained servers
    (llama.cpp, Ollama) enforce and which stop a small model from looping; OpenAI's strict mode rejects them.
    Lists come before the summary: small models extract better before they paraphrase. No open questions:
    the 1.5B model listed questions about the transcript ("What was the box that fell?") and answered ones; the
    rules find those answered with "nobody knows", which is what a reader wants.

    No highlights either: the rules quote the most central lines at their true times (`extract`); the 1.5B
    model's were paraphrases of lines (one gave a task to the wrong person) and a quarter of its answer. The
    instructions still describe them, as a brief answer's always did: the lists, which come first, then stay
    word for word what they were (a 1.5B model's lists move with any word of its prompt: without that line its
    key points restated the tasks, one with the wrong person), and so does the cached prefix. Demo, 2 threads
    on an Intel Xeon: answers of 103-149 tokens and 17-23 s a window with highlights, 73-101 and 14-18 s without.

    `brief` (the LLM is too slow to keep up): one key point, a shorter summary. The answer is most of a
    window's cost on a CPU."""
    b = bounded
    props: dict[str, Any] = {
        "action_items": _array(_obj({"owner": _text(40, b), "task": _text(160, b), "due": _text(40, b)}), 10, b),
        "decisions": _array(_text(160, b), 8, b),
        "key_points": _array(_text(160, b), BRIEF_KEY_POINTS if brief else LIMITS["key_points"], b),
        "summary": _text(BRIEF_SUMMARY_CHARS if brief else 400, b),
    }
    return _obj(props)


def synthesis_schema(bounded: bool = False, closing: bool = False) -> dict[str, Any]:
    return _obj({"summary": _text(CLOSING_CHARS if closing else 900, bounded)})


SYSTEM = {
    "fr": ("Tu rédiges des comptes rendus de réunion fidèles et concis, en français. "
           "Tu réponds uniquement par un objet JSON."),
    "en": "You write faithful, concise meeting minutes in English. You answer with a JSON object only.",
}

# The instructions and the worked example come first and never change within a meeting, so servers
# that cache the prompt prefix (llama.cpp, Ollama) only read the new transcript on each call.
WINDOW_FR = """Tu reçois un extrait de la transcription d'une réunion. « {me} » est la personne qui enregistre, \
« {others} » regroupe les autres personnes de l'appel ; les prénoms prononcés désignent des personnes.

Réponds en français par un objet JSON avec :
- "action_items" : chaque tâche confiée à quelqu'un ou qu'une personne s'engage à faire. "owner" : le prénom de \
la personne qui doit la faire (la personne à qui l'on parle quand on lui confie la tâche ; quand quelqu'un dit \
« je vais… », son étiquette {me} ou {others}) ; "task" : la tâche, à l'infinitif ; "due" : l'échéance dite \
(jour, date, délai), ou "" si aucune n'est dite.
- "decisions" : chaque décision prise ou validée, en une phrase courte qui dit ce qui est décidé (pas une \
citation). Une proposition acceptée par une réponse (« D'accord. », « Validé. », « On part là-dessus. ») est une \
décision. Pas les propositions restées sans accord, ni les tâches.
- "key_points" : au plus {key_points} faits importants (chiffres, états d'avancement).
- "highlights" : au plus {highlights} moments marquants, chacun avec "time", l'heure hh:mm:ss de sa ligne, et "text".
- "summary" : une à trois phrases qui résument l'extrait.
N'invente rien : une liste vide vaut mieux qu'un élément inventé. Les lignes « Juste avant » servent \
seulement à comprendre (une proposition faite juste avant et acceptée ici est une décision d'ici). Une première \
lecture peut proposer des décisions et des tâches : garde celles que la transcription confirme, en mots courts, \
et ajoute celles qu'elle a oubliées.

Exemple.
Transcription :
{me}: Pour le site, on part sur la version simple, c'est validé.
{others}: Très bien. Qui s'occupe des photos ?
{me}: Julie, tu pourrais envoyer les photos au graphiste pour vendredi ?
{others}: Oui. Et moi je vais relancer l'imprimeur demain.
{others}: On sait combien coûte l'hébergement ?
Réponse :
{{"action_items":[{{"owner":"Julie","task":"envoyer les photos au graphiste","due":"vendredi"}},\
{{"owner":"{others}","task":"relancer l'imprimeur","due":"demain"}}],\
"decisions":["Le site part sur la version simple."],"key_points":[],\
"highlights":[{{"time":"00:40:02","text":"Version simple du site validée"}}],\
"summary":"L'équipe valide la version simple du site et répartit l'envoi des photos et la relance de \
l'imprimeur."}}"""

WINDOW_EN = """You receive part of a meeting transcript. "{me}" is the person recording, "{others}" are the \
other people on the call; first names that are spoken refer to people.

Answer in {language_name} with a JSON object with:
- "action_items": each task given to someone or that someone commits to. "owner": the first name of the person \
who must do it (the person spoken to when the task is given; when someone says "I'll…", their label {me} or \
{others}); "task": the task, starting with a verb; "due": the deadline that was said (day, date, delay), or "" \
when none was said.
- "decisions": each decision made or agreed, as one short sentence that says what was decided (not a quote). \
A proposal accepted by a reply ("Let's do that.", "Agreed.", "Fine by me.") is a decision. Not proposals nobody \
agreed to, and not tasks.
- "key_points": at most {key_points} important facts (figures, progress).
- "highlights": at most {highlights} notable moments, each with "time", the hh:mm:ss of its line, and "text".
- "summary": one to three sentences summing up this part.
Invent nothing: an empty list is better than an invented item. Lines "Just before" are only there to \
understand (a proposal made just before and accepted here is a decision of this part). A first reading may \
suggest decisions and tasks: keep those the transcript confirms, in short words, and add those it missed.

Example.
Transcript:
{me}: For the website, we're going with the simple version, that's settled.
{others}: Good. Who handles the photos?
{me}: Julie, could you send the photos to the designer for Friday?
{others}: Sure. And I'll chase the printer tomorrow.
{others}: Do we know what the hosting costs?
Answer:
{{"action_items":[{{"owner":"Julie","task":"send the photos to the designer","due":"Friday"}},\
{{"owner":"{others}","task":"chase the printer","due":"tomorrow"}}],\
"decisions":["The website goes with the simple version."],"key_points":[],\
"highlights":[{{"time":"00:40:02","text":"Simple version of the website settled"}}],\
"summary":"The team settles on the simple version of the website and shares out the photos and the printer."}}"""

WINDOW_USER = {
    "fr": "Transcription de {start} à {end}{voices} :\n{transcript}\n",
    "en": "Transcript from {start} to {end}{voices}:\n{transcript}\n",
}
# Every window's prompt shows the part before it, "(nothing)" for the first: llama.cpp reuses a cached run
# of tokens only from where the new prompt leaves the cached one, so the second window's minute before (the
# first window's lines, cached) was read again while the first window's prompt went on with another heading
# (demo, 2 threads: 564 of 1,385 tokens cached, 18.5 s)
VOICES = {"fr": "{voices} : d'autres personnes de l'appel, distinguées par leur voix",
          "en": "{voices}: other people on the call, told apart by their voices"}
OWN_TASKS = {"fr": " ; quand l'une d'elles dit « je vais… », la tâche est à elle (owner = son étiquette).\n",
             "en": "; when one of them says \"I'll…\", the task is theirs (owner = their label).\n"}
BEFORE = {"fr": "Juste avant (déjà résumé) :\n{transcript}\n\n",
          "en": "Just before (already summarized):\n{transcript}\n\n"}
NOTHING = {"fr": "(rien)", "en": "(nothing)"}
FOUND = {"fr": ("Première lecture (à vérifier) :\n", "décision", "tâche"),
         "en": ("First reading (to check):\n", "decision", "task")}
ANSWER = {"fr": "Réponse :", "en": "Answer:"}

# Fixed instructions first (cached by the server), the summaries to fold in last.
SYNTHESIS_FR = """Tu tiens à jour le résumé global d'une réunion. Tu reçois le résumé de la réunion jusqu'ici \
(s'il existe) puis les résumés des minutes suivantes, dans l'ordre. Écris en français le nouveau résumé global de \
toute la réunion, en trois à cinq phrases : les sujets abordés, ce qui a été décidé, ce qui reste à faire. \
Réponds par un objet JSON {"summary":"..."}."""

SYNTHESIS_EN = """You keep the overall summary of a meeting up to date. You receive the summary of the meeting \
so far (if any), then the summaries of the following minutes, in order. Write in {language_name} the new overall \
summary of the whole meeting, in three to five sentences: the topics discussed, what was decided, what remains \
to be done. Answer with a JSON object {{"summary":"..."}}."""

# The meeting is over and the report is waited for: its last minutes are told in one or two sentences added
# to the summary. The summary itself is not shown: a small model given it copies it out before adding a word
# (a 1.5B model: 116 tokens written, 12 s, for one new sentence).
CLOSING_FR = """Tu reçois les résumés des dernières minutes d'une réunion, dans l'ordre. Écris en français une ou \
deux phrases qui disent ce que ces dernières minutes apportent (conclusion, décision, suite à donner), pour \
terminer le résumé de la réunion ; une chaîne vide si elles n'apportent rien. Réponds par un objet JSON \
{"summary":"..."}."""

CLOSING_EN = """You receive the summaries of the last minutes of a meeting, in order. Write in {language_name} one or \
two sentences that say what these last minutes add (a conclusion, a decision, a next step), to end the summary \
of the meeting; an empty string if they add nothing. Answer with a JSON object {{"summary":"..."}}."""

RETRY = {
    "fr": ("Ta réponse n'est pas valable : {error}. Réponds de nouveau, uniquement par l'objet JSON demandé, "
           "en français."),
    "en": "Your answer is not valid: {error}. Answer again, with the requested JSON object only, in {language_name}.",
}


def transcript_lines(segments: list[Segment]) -> str:
    """`Speaker: text`, consecutive pieces of one speaker joined into one line. No times: Qwen's tokenizer
    writes each digit alone, and "[00:40:02] " was 11 tokens a line, a fifth of what a window read (18-25 %
    fewer tokens without), for nothing the answer needs (the rules place the highlights)."""
    return "\n".join(f"{speaker}: {text}" for _, _, speaker, text in blocks(segments, MERGE_GAP_S))


def _family(language: str) -> str:
    return "fr" if language == "fr" else "en"


def system(language: str) -> str:
    if _family(language) == "fr":
        return SYSTEM["fr"]
    return SYSTEM["en"].replace("in English", f"in {lang.english_name(language)}")


def window_messages(language: str, start: float, end: float, segments: list[Segment],
                    vocabulary: Sequence[str] = (), context: Sequence[Segment] = (),
                    found: MiniSummary | None = None, brief: bool = False) -> list[dict[str, str]]:
    """`context`: the lines just before the window; `found`: what the offline rules found in it, to check.

    `brief`: the voices are named in the transcript's heading, not in a note after it: there the 0.5B model
    that writes brief answers copied the note's "la tâche est à elle (owner = son étiquette)" as task after
    task until its answer was cut (5 of 20 French windows beside the call)."""
    me, others = lang.speakers(language)
    family = _family(language)
    instructions = (WINDOW_FR if family == "fr" else WINDOW_EN).format(
        me=me, others=others, language_name=lang.english_name(language), **LIMITS)
    voices = sorted({seg.speaker for seg in segments if number_of(seg.speaker) is not None})
    user = BEFORE[family].format(transcript=transcript_lines(list(context)) if context else NOTHING[family])
    named = VOICES[family].format(voices=", ".join(voices))
    heading = f" ({named})" if voices and brief else ""
    user += WINDOW_USER[family].format(start=clock(start), end=clock(end), voices=heading,
                                       transcript=transcript_lines(segments))
    if found is not None and (found.decisions or found.action_items):
        head, decision, task = FOUND[family]
        user += "\n" + head + "".join(f"- {decision}: {d}\n" for d in found.decisions)
        user += "".join(f"- {task}: {a.owner or '?'}: {a.task}" + (f" ({a.due})" if a.due else "") + "\n"
                        for a in found.action_items)
    if voices and not brief:  # after the transcript, so the cached fixed prefix stays the same
        user += "\n\n" + named + OWN_TASKS[family]
    if vocabulary:  # after the transcript, so the cached fixed prefix stays the same
        user += ("\nNoms et termes de cette réunion (à écrire ainsi) : " if family == "fr"
                 else "\nNames and terms of this meeting (spell them this way): ") + ", ".join(vocabulary) + "\n"
    user += ANSWER[family]
    return [{"role": "system", "content": system(language) + "\n\n" + instructions},
            {"role": "user", "content": user}]


def synthesis_messages(language: str, previous: str, chunks: list[tuple[float, float, str]],
                       closing: bool = False) -> list[dict[str, str]]:
    """`chunks`: (start, end, text) of each mini-summary not yet folded into `previous`.

    `closing`: the meeting is over; ask only for the sentences its last minutes add to `previous`.
    """
    fr = _family(language) == "fr"
    body = "\n\n".join(f"[{clock(s)} - {clock(e)}]\n{text}" for s, e, text in chunks)
    head = ("Résumé de la réunion jusqu'ici :\n" if fr else "Summary of the meeting so far:\n") + previous + "\n\n" \
        if previous and not closing else ""
    if closing:
        then = "Résumés des dernières minutes :\n" if fr else "Summaries of the last minutes:\n"
        instructions = CLOSING_FR if fr else CLOSING_EN.format(language_name=lang.english_name(language))
    else:
        then = "Résumés des minutes suivantes :\n" if fr else "Summaries of the following minutes:\n"
        instructions = SYNTHESIS_FR if fr else SYNTHESIS_EN.format(language_name=lang.english_name(language))
    # its own system text, sharing no prefix with the window prompt: llama.cpp then keeps it in the other slot
    return [{"role": "system", "content": instructions}, {"role": "user", "content": head + then + body}]


def retry_message(language: str, error: str) -> dict[str, str]:
    template = RETRY[_family(language)]
    return {"role": "user", "content": template.format(error=error, language_name=lang.english_name(language))}
