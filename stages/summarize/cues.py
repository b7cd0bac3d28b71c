"""How people say, in French and English meetings, that something is proposed, agreed, decided or unknown.

Plain word lists, for the offline extractor (`extract.py`): a decision is usually a
proposal followed by agreement ("What if we rent one?" "Let's do that."), often
restated by whoever leads ("Okay, we send the voucher."), or announced outright
("C'est décidé", "on part sur..."). A question stays open when the answer is that
nobody knows ("No idea." / "Je n'en sais rien."). Cues are matched on whole
sentences, so they must not depend on who speaks: an imported recording has one
speaker label for everyone.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
LEAD = (r"^(?:(?:okay|ok|so|and|alright|all right|right|well|then|now|fine|good|great|perfect|yes|yeah|sure|hmm|"
        r"alors|bon|donc|et|bien|très bien|d'accord|parfait|oui|ok|ah|eh bien|bref|enfin|ensuite|super|"
        r"entendu|voilà)[,.!]?\s+)*")

# A short reply that agrees with what was just proposed ("Let's do that." / "Validé." / "On part là-dessus." /
# "On le prend.").
AGREE = {
    "en": re.compile(
        LEAD + r"(?:agreed|i agree|let's do (?:that|it|this)|let's go with (?:that|it|this)|let's go for it|"
        r"sounds good(?: to me)?|sounds (?:great|fine|reasonable|wise)|that's (?:fine|good|wise|reasonable)"
        r"(?: (?:by|with|for) me)?|fine by me|fine with me|good by me|works for me|that works(?: for me)?|it works|"
        r"i'm (?:fine|okay|ok|happy) with (?:that|it|this)|i'm for it|i'm in|i can live with (?:that|it)|"
        r"(?:a |that's a )?(?:good|great|much better) idea|fair enough|i'm convinced|you've convinced me|"
        r"makes sense|deal|same (?:here|for me)|me too|no objection|i think that's (?:wise|right|fair|good|"
        r"reasonable)|i'm okay with (?:that|it)|"
        r"that's a good compromise|good compromise|suits me|(?:the \w+ )?suits me|works for me too|that's nice|"
        r"that's great|we(?:'ll| will)? (?:take|do|buy|keep|book|order|rent|sign) (?:it|them|that|this one)"
        r"(?=\s*[.!]*$))\b",
        _I),
    "fr": re.compile(
        LEAD + r"(?:validé|adopté|ça me va|ça marche|ça me paraît "
        r"(?:faisable|bien|juste|raisonnable)|ça me semble (?:jouable|bien|juste|raisonnable)|pour moi c'est bon|"
        r"c'est bon pour moi|je suis d'accord|je suis pour|moi aussi|bonne idée|excellente idée|ah,? ça c'est "
        r"malin|c'est malin|on part là-dessus|allons-y|banco|adjugé|je valide|c'est bon|"
        r"va pour ça|je suis d'accord aussi|dommage,? mais d'accord|je trouve ça raisonnable|"
        r"on (?:le |la |les |l')(?:prend|fait|garde|achète|commande|loue|réserve|signe)(?=\s*[.!]*$))\b", _I),
}
# The same, anywhere in a short sentence ("Fifteen, okay, I can live with that.").
AGREE_ANYWHERE = {fam: re.compile(r"\b" + rx.pattern[len(LEAD):], _I) for fam, rx in AGREE.items()}
# Agreement words that accept anything (a task, an answer): they confirm a proposal only right after one.
WEAK_AGREE = re.compile(LEAD + r"(?:yes|sure|okay|ok|of course|absolutely|definitely|oui|d'accord|ok|bien sûr|"
                        r"entendu|très bien|parfait)[.!]?$", _I)

# A proposal: one option put forward for the group ("What if we...", "On pourrait...", "Je propose...").
PROPOSE = {
    "en": re.compile(r"\b(?:what if we|how about|why not|i (?:would |'d )?(?:propose|suggest)|i'd (?:rather|prefer|"
                     r"go for|go with|put|keep|say|still)|i would (?:rather|prefer|go for|keep)|we could|could we|"
                     r"maybe we|i think we should|we should|shall we|let's|then i propose|i'd be for|i'm for|can we|"
                     r"the idea is to)\b", _I),
    "fr": re.compile(r"\b(?:je propose|je suggère|on pourrait|et si on|pourquoi ne pas|pourquoi pas|il faudrait|"
                     r"je serais pour|je dirais|je préférerais|on devrait|je pense qu'il faut|on peut|je verrais|"
                     r"plutôt)\b", _I),
}
# A question that asks the group to agree ("Everyone agree?" / "Vous êtes d'accord ?").
CALL_FOR_AGREEMENT = re.compile(
    r"\b(?:any objections?|everyone agree|does everyone agree|all agree|are we agreed|can you (?:all )?live with|"
    r"okay for everyone|everybody okay|agreed\?|tout le monde est d'accord|vous êtes d'accord|on est d'accord|"
    r"ça vous va|d'accord pour|tout le monde est ok|des objections?)\b", _I)

# Saying outright that something is decided.
ANNOUNCE = {
    "en": re.compile(
        r"\b(?:we(?:'ve| have)? decided|we decide|the decision is|decided that|it's decided|that's decided|"
        r"that is decided|decided[.!]|it's settled|that's settled|we agree(?:d)? (?:to|that|on)|^agreed[:,.]|"
        r"let's go with|\w+ it is(?:[.!,]|$)|^[\w%$€' -]{1,25} then[,.!]|"
        r"that's the (?:split|plan|decision)|from now on|go ahead with|approved\b|"
        r"no \w+ (?:this time|for now)|not for now|we go with|we're going with)", _I),
    "fr": re.compile(
        r"\b(?:on décide|nous décidons|nous avons décidé|on a décidé|c'est décidé|la décision est|décidé[.!]|"
        r"la décision|"
        r"on valide|nous validons|c'est validé|est validée?\b|on part sur|on part là-dessus|on retient|nous "
        r"retenons|c'est acté|on acte|adopté|va pour|on n'en parle pas|on laisse tomber|^[\w%$€' -]{1,25},? "
        r"alors[,.!])", _I),
}
# "We/on" + a verb that commits the group: a decision when it restates what was just agreed ("Okay, we send
# the voucher." / "Alors on garde la joue de bœuf."), not in the middle of a discussion.
COMMIT = {
    "en": re.compile(r"\b(?:we(?:'ll| will)?|let's) (?:keep|stop|drop|take|send|offer|submit|move|give|throw|"
                     r"charge|open|rent|buy|hire|go|stay|launch|start|switch|use|add|close|cancel|postpone|delay|"
                     r"book|sign|pay|ship|release|resample|aim|choose|pick|approve|adopt|freeze|don't|won't|do not)\b",
                     _I),
    "fr": re.compile(r"\b(?:on|nous) (?:garde|gardons|maintient|maintenons|arrête|abandonne|repousse|reporte|"
                     r"choisit|approuve|adopte|annule|vise|engage|ferme|ouvre|reste|en change|change|passe|lance|"
                     r"commence|loue|décale|prend|le prend|emprunte|fait|ne \w+ pas|n'en \w+ pas|part|essaie|"
                     r"installe|recrute|achète|réserve|supprime|remplace|ajoute|ajoutons|met|mettons|utilise|utilisons|"
                     r"envoie|envoyons|offre|propose|baisse|augmente|monte|signe|signons|publie|publions)\b", _I),
}
# Starts of a sentence that restates what was just agreed ("Then we...", "Alors on...", "So it's...").
RESTATE = re.compile(r"^(?:(?:okay|ok|so|then|right|fine|good|great|alright|agreed|perfect|no|non|yes|oui|alors|"
                     r"donc|bon|and|et|c'est décidé|c'est validé|c'est acté|it's decided|that's decided|decided|"
                     r"settled|"
                     r"très bien|parfait|bien|entendu|d'accord)[,.!:]?\s+)+(?:(?:then|alors|donc)\s+)?", _I)

# A closed question about what the group does ("Do we move them automatically?", "Are we hiring temps?",
# "And existing customers, should the on-call person get access?", "On garde le même traiteur ?"): a plain
# answer settles it. Not questions about what the group has, knows or is ("Do we have the numbers?", "On est
# prêts ?"). English asks by word order alone: Whisper often drops the question mark there.
_TOPIC = r"^(?:(?:and|so|then|also|okay|ok|now|et|alors|donc|bon)[,]?\s+)*(?:[^,?.]{1,40},\s+)?"
GROUP_QUESTION = {
    "en": re.compile(_TOPIC + r"(?:(?:do|should|shall|can|could) we (?!(?:have|"
                     r"know|need to know|understand|remember|see|agree|all|still|really|even|get started|start|"
                     r"begin|move on)\b)|are we (?=\w+ing\b)(?!(?:doing|going well|talking)\b)|should (?:the|our|"
                     r"every|all) )", _I),
    "fr": re.compile(_TOPIC + r"(?:(?:est-ce qu(?:e |'))?(?:on|l'on|nous) (?!(?:a|est|sait|connaît|se voit|"
                     r"commence|y va|passe à la suite|continue|avons|sommes|savons)\b)|doit-on |peut-on |faut-il )",
                     _I),
}
# The words that make it a question, dropped to say what was settled ("do we", "est-ce qu'").
ASKING = re.compile(r"\b(?:(?:do|should|shall|can|could|are) we|should|est-ce qu(?:e |'))\s*", _I)
# A plain answer that settles such a question: yes, no, not now.
VERDICT = {
    "en": re.compile(r"^(?:(?:well|okay|ok|so|hmm|honestly)[,]?\s+)*(?P<verdict>yes|yeah|yep|no|nope|not (?:for now|"
                     r"now|yet|this (?:time|year|month|quarter))|of course|absolutely|definitely|certainly)\b[,.!]?"
                     r"\s*", _I),
    "fr": re.compile(r"^(?:(?:alors|bon|eh bien|franchement)[,]?\s+)*(?P<verdict>oui|non|pas (?:pour l'instant|pour "
                     r"le moment|maintenant|cette (?:fois|année))|bien sûr|évidemment|absolument|surtout pas)\b[,.!]?"
                     r"\s*", _I),
}
NEGATIVE = re.compile(r"^(?:no|nope|not|non|pas|surtout pas)\b", _I)

# The answer to a question is that nobody knows, or it is put off: the question stays open.
UNKNOWN = {
    "en": re.compile(r"\b(?:i don't know|i do not know|no idea|not sure|i'm not sure|nobody knows|no one knows|"
                     r"nobody can|can't answer|cannot answer|i can't say|don't know yet|hard to say|"
                     r"anyone knows|leave (?:it|that) open|come back to (?:that|it)|we'll see|let's think about it|"
                     r"haven't (?:asked|published|heard)|hasn't said|nobody has asked|for finance to say|depends on|"
                     r"i really don't know|no one has|nobody told)\b", _I),
    "fr": re.compile(r"\b(?:je ne sais pas|je n'en sais rien|aucune idée|pas sûre?|je ne suis pas sûre?|personne ne "
                     r"sait|personne ne peut|je ne peux pas (?:vous |te )?répondre|on verra|il faudra "
                     r"voir|je n'ai pas la réponse|n'ont (?:pas|toujours pas|rien) (?:répondu|dit)|rien dit|rien "
                     r"communiqué|ça dépend|on ne peut pas trancher|je ne sais pas du tout|n'en suis pas sûre?|"
                     r"n'a répondu|injoignable|toujours pas)\b", _I),
}
# Questions that are not questions about the meeting's subject: greetings, sound checks, invitations.
SMALL_TALK = re.compile(r"\b(?:hear me|see the board|on mute|how are you|how was|did you (?:sleep|see)|anyone "
                        r"watching|m'entendez|vous m'entendez|ça va|tu as pu|vous avez vu|on va boire|des nouvelles "
                        r"de|un café)\b", _I)
