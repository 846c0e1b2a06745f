"""The people of the example organisation (examples/org.toml) whom more than one test meets."""

from __future__ import annotations

BRAM = "bram.degroot@fietsenwinkel.example"  # Particulieren, Dutch
PRIYA = "priya.nair@fietsenwinkel.example"  # English-speaking customers, English
ESTHER = "esther.mulder@fietsenwinkel.example"  # lead of Particulieren, Dutch
INGRID = "ingrid.hofman@fietsenwinkel.example"  # admin
JOOST = "joost.bakker@fietsenwinkel.example"  # Zakelijk & Lease, adopted klant-31852
SANNE = "sanne.jansen@fietsenwinkel.example"  # Zakelijk & Lease
WENDY = "wendy.vanleeuwen@fietsenwinkel.example"  # lead of People & Cultuur (eNPS)
THIJS = "thijs.willems@fietsenwinkel.example"  # recruiter, Werving & Selectie
ADOPTED_BY = {BRAM: "klant-20417", PRIYA: "klant-48630"}  # a customer each has adopted
