"""What the demo's people write and are told, in Dutch and English: a critic's comment by root
cause, a fan's praise, and what a team did about a root cause."""

from __future__ import annotations

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
