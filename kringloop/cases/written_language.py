"""Which of our two languages a member's text looks written in, so that someone writing to a
respondent in the other one is told before the email goes (pure: a count of common words).

No language-detection library is installed, and none is needed to tell Dutch from English in a
few sentences: the short words every sentence is made of (articles, pronouns, prepositions,
auxiliaries) differ between the two, and a handful of them decides it.
"""

from __future__ import annotations

import re

_NL = frozenset("""
de het een en van ik je jij u uw jullie wij ons onze mijn jouw zijn waren niet dat die dit
deze met voor op aan er maar om ook als dan nog wel geen heb hebt heeft hebben wordt worden
kunnen kun zal zullen zou zouden graag bedankt dank excuses helaas wat hoe waarom waar wanneer
omdat door bij naar tot uit al nieuwe hierbij ontvangt sturen gestuurd opgelost vriendelijke
groet groeten terug gebeld fiets
""".split())
_EN = frozenset("""
the a an and i you your our us my are were not that this these those with for on at to
it but also if then have has had will would can could please thanks thank sorry what how why
where when because by from about out already new hereby receive send sent solved kind regards
back called bike
""".split())
# Too few of these words, or no clear majority: we do not guess.
MIN_WORDS = 3
MARGIN = 2.0


def looks_written_in(text: str) -> str | None:
    """"nl" or "en" when the text clearly reads as one of them; None when it is too short or
    mixed to tell."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    dutch = sum(word in _NL for word in words)
    english = sum(word in _EN for word in words)
    if max(dutch, english) < MIN_WORDS:
        return None
    if dutch >= MARGIN * english:
        return "nl"
    if english >= MARGIN * dutch:
        return "en"
    return None
