"""Sample respondents for the demo: Dutch and English people, their scores and their words."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kringloop.demo.words import COMPLAINTS, FIXES, PRAISE
from kringloop.org.organisation import Organisation

SEED = 20417

DUTCH_FIRST = ("Anna", "Daan", "Sem", "Lieke", "Fleur", "Thijs", "Jeroen", "Marloes", "Hanneke",
               "Wouter", "Sanne", "Bas", "Eline", "Ruud", "Inge", "Joris", "Mirjam", "Koen",
               "Femke", "Gijs", "Zoë", "Mehmet", "Naima", "Stijn", "Loes", "Jasper", "Iris",
               "Bart", "Merel", "Niels", "Saskia", "Henk", "Ayşe", "Rik", "Annemieke")
DUTCH_LAST = ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer",
              "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen",
              "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
              "Kuipers", "Yılmaz", "El Idrissi", "Verhoeven", "Postma", "Huisman", "Prins",
              "van Dam", "Schouten", "Claassen")
ENGLISH_FIRST = ("Oliver", "Amelia", "Harry", "Isla", "George", "Sophie", "Jack", "Grace", "Liam",
                 "Chloe", "Noah", "Emily", "Siobhan", "Callum", "Ava", "Ethan", "Megan", "Ryan",
                 "Priyanka", "Seán", "Niamh", "Kwame")
ENGLISH_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas",
                "O'Brien", "Murphy", "Walsh", "Patel", "Khan", "Robinson", "Wright", "Hughes",
                "Kelly", "Clarke", "Campbell", "Fraser", "Mensah")

# How likely each score 0..10 is, per program: a typical spread with more promoters than critics.
SCORE_WEIGHTS = {
    "customer": (2, 1, 2, 3, 4, 6, 9, 14, 18, 20, 21),
    "employee": (2, 2, 3, 4, 6, 8, 10, 16, 18, 17, 14),
    "candidate": (3, 2, 3, 4, 5, 7, 9, 14, 17, 18, 18),
}
PROGRAM_SHARE = {"customer": 70, "employee": 15, "candidate": 15}
ENGLISH_SHARE = {"customer": 0.25, "employee": 0.15, "candidate": 0.3}
SEGMENTS = {"nl": (("particulier", 38), ("webshop", 20), ("zakelijk", 12), ("lease", 10),
                   (None, 20)),
            "en": (("student", 30), ("expat", 25), ("zakelijk", 10), ("lease", 5), (None, 30))}


# How the team member handles a case, dealt in turn to the critics who can be called back.
# "late" waits for an urgent score (0-3): its short SLA makes the escalation come soon.
HABITS = ("prompt", "retry", "prompt", "unreachable", "prompt", "late",
          "prompt", "prompt", "retry", "prompt", "prompt", "prompt")


@dataclass(frozen=True)
class SampleResponse:
    """One survey answer to post, the root cause behind a critic's comment, how it is handled."""

    body: dict[str, Any]
    root_cause: str | None = None
    habit: str = "prompt"

    @property
    def response_id(self) -> str:
        return str(self.body["response_id"])

    @property
    def score(self) -> int:
        return int(self.body["score"])

    @property
    def language(self) -> str:
        return str((self.body.get("respondent") or {}).get("language") or "nl")

    @property
    def email(self) -> str | None:
        return (self.body.get("respondent") or {}).get("email")


def _plain(text: str) -> str:
    """`Zoë O'Brien` as `zoe.obrien`, for an email address."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


class _People:
    """Names and addresses, each address used once."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(self, language: str, domain: str) -> tuple[str, str]:
        first, last = ((DUTCH_FIRST, DUTCH_LAST) if language == "nl"
                       else (ENGLISH_FIRST, ENGLISH_LAST))
        given, family = self.rng.choice(first), self.rng.choice(last)
        name, local = f"{given} {family}", f"{_plain(given)}.{_plain(family)}"
        address, n = f"{local}@{domain}", 1
        while address in self.used:
            n += 1
            address = f"{local}{n}@{domain}"
        self.used.add(address)
        return name, address

    def phone(self, language: str) -> str:
        if language == "nl":
            return f"+31 6 {self.rng.randrange(1000, 9999)} {self.rng.randrange(1000, 9999)}"
        return f"+44 7700 900{self.rng.randrange(100, 999)}"


def _weighted(rng: random.Random, options: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def sample_responses(org: Organisation, count: int, *, seed: int = SEED) -> list[SampleResponse]:
    """`count` responses across the organisation's programs, the same ones for the same seed."""
    rng = random.Random(seed)
    people = _People(rng)
    programs = [p for p in PROGRAM_SHARE if p in org.programs]
    adoptions = [a.respondent_id for a in org.adopted]
    now = datetime.now(UTC)
    samples: list[SampleResponse] = []
    for number in range(1, count + 1):
        program = rng.choices(programs, weights=[PROGRAM_SHARE[p] for p in programs])[0]
        score = rng.choices(range(11), weights=SCORE_WEIGHTS[program])[0]
        language = "en" if rng.random() < ENGLISH_SHARE[program] else "nl"
        policy = org.programs[program]
        causes = [c for c in COMPLAINTS[program] if c in policy.root_causes]
        cause = rng.choice(causes or policy.root_causes) if score <= 6 else None
        body: dict[str, Any] = {
            "response_id": f"demo-{program[:4]}-{number:04d}", "program": program,
            "score": score,
            "answered_at": (now - timedelta(minutes=rng.randrange(5, 2 * 24 * 60))).isoformat(),
        }
        if cause in COMPLAINTS[program]:
            body["comment"] = COMPLAINTS[program][cause][language == "en"]
        elif score > 6 and rng.random() < 0.5:
            body["comment"] = rng.choice(PRAISE[program][language])
        respondent: dict[str, Any] = {"language": language}
        if program == "customer":
            name, email = people.person(language, "post.example")
            adopted = adoptions.pop(0) if adoptions and score <= 6 else None
            respondent |= {"id": adopted or f"klant-{rng.randrange(10000, 99999)}", "name": name,
                           "email": email, "phone": people.phone(language)}
            segment = _weighted(rng, SEGMENTS[language])
            if segment:
                respondent["segment"] = segment
        elif program == "candidate":
            name, email = people.person(language, "mail.example")
            respondent |= {"id": f"sollicitant-{rng.randrange(1000, 9999)}", "name": name,
                           "email": email}
        elif rng.random() < 0.3:  # an employee who opted in to be contacted
            name, email = people.person(language, "fietsenwinkel.example")
            respondent |= {"id": f"mdw-{rng.randrange(100, 999)}", "name": name, "email": email}
            body["meta"] = {"contact_consent": True}
        body["respondent"] = respondent
        samples.append(SampleResponse(body=body, root_cause=cause))
    return _with_habits(samples)


def _with_habits(samples: list[SampleResponse]) -> list[SampleResponse]:
    dealt: list[SampleResponse] = []
    turn = late_owed = 0
    for sample in samples:
        if sample.score > 6 or not sample.email:
            dealt.append(sample)
            continue
        habit, turn = HABITS[turn % len(HABITS)], turn + 1
        if habit == "late" and sample.score > 3:
            habit, late_owed = "prompt", late_owed + 1
        elif habit == "prompt" and late_owed and sample.score <= 3:
            habit, late_owed = "late", late_owed - 1
        dealt.append(replace(sample, habit=habit))
    return dealt


def resolution_for(sample: SampleResponse, root_causes: list[str], rng: random.Random
                   ) -> dict[str, str]:
    """Root cause, action and personal message a team member would write for this case."""
    cause = sample.root_cause if sample.root_cause in root_causes else rng.choice(root_causes)
    english = sample.language == "en"
    fix = FIXES.get(cause, ("het met het team besproken en een verbetering afgesproken",
                            "discussed it with the team and agreed an improvement"))[english]
    if english:
        message = (f"Thank you for taking the time to talk with me. Following your feedback we "
                   f"have {fix}. It helps us get better, so thank you for telling us.")
    else:
        message = (f"Dank je wel dat je de tijd nam om met me te praten. Naar aanleiding van "
                   f"jouw feedback hebben we {fix}. Zo worden we beter: fijn dat je het zei.")
    return {"root_cause": cause, "action_taken": fix[0].upper() + fix[1:] + ".",
            "message": message}


def new_score(sample: SampleResponse, rng: random.Random) -> int:
    """The score after the loop was closed: most critics come round, some stay unhappy."""
    if rng.random() < 0.75:
        return rng.choice((7, 8, 8, 9, 9, 10))
    return min(6, sample.score + rng.randrange(0, 4))
