"""Sample respondents for the demo: Dutch and English people, their scores and their words."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

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

# What a critic writes, by root cause: (Dutch, English).
COMPLAINTS: dict[str, dict[str, tuple[str, str]]] = {
    "customer": {
        "delivery-late": ("Mijn fiets zou dinsdag komen, het werd de week erna. Niemand liet iets "
                          "weten.", "My bike was due on Tuesday and came the week after. Nobody "
                          "told me anything."),
        "delivery-damaged": ("Het frame had een flinke kras en de doos was kapot.",
                             "The frame was badly scratched and the box was torn open."),
        "product-defect": ("De accu van mijn e-bike houdt het na drie maanden nog maar 20 km vol.",
                           "My e-bike battery barely lasts 20 km after three months."),
        "repair-quality": ("Na de reparatie kraakt de trapas nog steeds, nu ook de versnelling.",
                           "After the repair the bottom bracket still creaks, and now the "
                           "gears slip too."),
        "repair-turnaround": ("Twee weken in de werkplaats voor een nieuwe ketting, echt te lang.",
                              "Two weeks in the workshop for a new chain is far too long."),
        "stock-availability": ("Online stond maat 57 op voorraad, in de winkel bleek hij er niet.",
                               "The website said size 57 was in stock; the shop did not have it."),
        "webshop-checkout": ("Betalen met iDEAL lukte drie keer niet, uiteindelijk maar gebeld.",
                             "Checkout kept failing at the payment step, so I had to phone."),
        "billing-error": ("Er is twee keer afgeschreven en op mijn terugbetaling wacht ik nog.",
                          "I was charged twice and I am still waiting for the refund."),
        "price": ("Het onderhoudsabonnement is flink duurder geworden zonder uitleg.",
                  "The service plan went up a lot in price without any explanation."),
        "communication": ("Ik heb drie mails gestuurd over mijn bestelling en nooit antwoord "
                          "gekregen.", "I sent three emails about my order and never got a "
                          "reply."),
        "rude-or-unhelpful-staff": ("De medewerker aan de balie deed alsof ik lastig was.",
                                    "The person at the counter treated me as a nuisance."),
        "policy": ("Mijn garantieclaim werd afgewezen omdat de bon zoek was, terwijl ik in jullie "
                   "systeem sta.", "My warranty claim was refused for a lost receipt, though "
                   "I am in your system."),
    },
    "employee": {
        "workload": ("Op zaterdag staan we met te weinig mensen in de winkel.",
                     "We are always understaffed on Saturdays."),
        "scheduling": ("Het rooster verandert vaak op het laatste moment.",
                       "The rota changes at the last minute, again and again."),
        "leadership": ("Beslissingen worden genomen zonder ons iets te vragen.",
                       "Decisions are made without asking the people who do the work."),
        "recognition": ("Als het goed gaat hoor je niets, alleen als er iets misgaat.",
                        "You only hear from anyone when something goes wrong."),
        "career-growth": ("Ik wil graag de opleiding e-bike-monteur doen, maar dat kan niet.",
                          "I would like to train as an e-bike mechanic but there is no budget."),
        "tools-and-equipment": ("Het kassasysteem loopt vast en de diagnosetool is verouderd.",
                                "The till keeps freezing and the diagnostic tool is outdated."),
    },
    "candidate": {
        "no-response": ("Na mijn sollicitatie heb ik vier weken niets gehoord.",
                        "After applying I heard nothing for four weeks."),
        "slow-process": ("Drie gesprekken en zes weken voor een parttime baan.",
                         "Three interviews and six weeks for a part-time job."),
        "rejection-without-reason": ("Een standaard afwijzing, zonder te zeggen waarom.",
                                     "A standard rejection without saying why."),
        "interview-experience": ("Het gesprek begon een half uur te laat en niemand had mijn cv "
                                 "gelezen.", "The interview started half an hour late and "
                                 "nobody had read my CV."),
        "scheduling": ("Mijn gesprek werd twee keer op de dag zelf verzet.",
                       "My interview was moved twice on the day itself."),
    },
}
PRAISE = {
    "customer": {"nl": ("Prima geholpen, alleen het wachten duurde wat lang.", "Goede service.",
                        "Vriendelijke monteur, fiets rijdt weer als nieuw!", "Snel geleverd, top."),
                 "en": ("Helpful staff, though the wait was a bit long.", "Good service overall.",
                        "Friendly mechanic, my bike rides like new!", "Quick delivery, great.")},
    "employee": {"nl": ("Fijne collega's en een mooi bedrijf.", "Leuk werk, goede sfeer."),
                 "en": ("Lovely people to work with.", "I enjoy the work and the team.")},
    "candidate": {"nl": ("Vriendelijk gesprek en snel antwoord.", "Duidelijke uitleg, dank!"),
                  "en": ("Friendly interview and a quick answer.", "Clear and honest, thanks!")},
}

# What a team did about a root cause, as the respondent will read it: (Dutch, English).
FIXES: dict[str, tuple[str, str]] = {
    "delivery-late": ("je bezorgkosten terugbetaald en de levertijden in de webshop eerlijker "
                      "gemaakt", "refunded your delivery costs and made the delivery times in "
                      "the webshop honest"),
    "delivery-damaged": ("een nieuw frame besteld en de verpakking met onze vervoerder besproken",
                         "ordered a new frame and reviewed the packaging with our carrier"),
    "product-defect": ("je accu kosteloos vervangen", "replaced your battery free of charge"),
    "repair-quality": ("de reparatie gratis overgedaan door onze hoofdmonteur",
                       "had our head mechanic redo the repair at no cost"),
    "repair-turnaround": ("een leenfiets geregeld en de planning in de werkplaats aangepast",
                          "arranged a loan bike and changed the workshop planning"),
    "stock-availability": ("de voorraadkoppeling met de winkels laten repareren",
                           "had the stock link between the shops and the website fixed"),
    "webshop-checkout": ("de storing bij de betaalprovider laten oplossen",
                         "had the payment provider fix the fault"),
    "billing-error": ("de dubbele afschrijving direct teruggestort",
                      "refunded the double charge straight away"),
    "price": ("je abonnement een jaar lang op de oude prijs gezet",
              "kept your plan at the old price for a year"),
    "communication": ("afgesproken dat elke mail binnen één werkdag antwoord krijgt",
                      "agreed that every email is answered within one working day"),
    "rude-or-unhelpful-staff": ("het gesprek met de collega en het winkelteam gevoerd",
                                "talked it through with our colleague and the shop team"),
    "policy": ("je garantieclaim alsnog goedgekeurd op basis van je klantgegevens",
               "approved your warranty claim after all, based on your customer record"),
    "workload": ("op zaterdag een extra collega ingeroosterd",
                 "added an extra colleague to the Saturday rota"),
    "scheduling": ("afgesproken dat het rooster twee weken vooruit vaststaat",
                   "agreed that rotas are fixed two weeks ahead"),
    "leadership": ("een maandelijks teamoverleg met de leiding ingesteld",
                   "set up a monthly team meeting with management"),
    "recognition": ("een vast moment ingevoerd om goed werk te benoemen",
                    "made a regular moment to recognise good work"),
    "career-growth": ("budget vrijgemaakt voor de opleiding tot e-bike-monteur",
                      "set aside budget for the e-bike mechanic training"),
    "tools-and-equipment": ("nieuwe kassa's en een nieuwe diagnosetool besteld",
                            "ordered new tills and a new diagnostic tool"),
    "no-response": ("beloofd dat elke sollicitant binnen vijf werkdagen antwoord krijgt",
                    "committed to answering every applicant within five working days"),
    "slow-process": ("ons selectieproces teruggebracht tot twee gesprekken",
                     "cut our selection process down to two interviews"),
    "rejection-without-reason": ("je alsnog uitgelegd waarom we voor een ander kozen, met een "
                                 "tip voor de volgende keer", "explained why we chose someone "
                                 "else, with a tip for next time"),
    "interview-experience": ("met de interviewers besproken hoe we gesprekken voorbereiden",
                             "talked with our interviewers about preparing properly"),
}


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
