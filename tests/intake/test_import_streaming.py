"""A long survey export or rejection sheet is read a line at a time: the memory it takes stays
flat however big the file, and its data lines are counted (the progress bar's total) before the
first line is imported."""

from __future__ import annotations

import csv
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kringloop.intake.csv_import import COLUMNS, read_lines
from kringloop.org.organisation import Organisation
from kringloop.rejections.csv_import import read_rejections

pytestmark = pytest.mark.slow  # tracemalloc slows validation down: about 40 s together

MB = 1_000_000
# An NPS comment of a couple of paragraphs (~2 kB), quoted over two lines as Excel writes it.
COMMENT = ("De fiets kwam twee weken te laat en niemand belde terug, ook niet na twee mails. "
           'Bij het ophalen moest ik drie kwartier wachten en de "gratis" afstelling kostte '
           "toch € 15. ") * 11 + "\nVerder wel vriendelijk personeel."
CERTIFICATE = ("Voor deze rol is het diploma Fietstechnicus niveau 3 nodig, en dat heb je (nog) "
               "niet. In de werkplaats stellen we e-bikes af en vervangen we motoren en accu's; "
               "dat mag alleen met dat diploma. Je kunt het in een jaar halen naast je werk, en "
               "dan nodigen we je graag opnieuw uit.")
SATURDAYS = ("We zoeken iemand die elke zaterdag kan werken, en dat lukt jou niet. Op zaterdag "
             "halen de meeste klanten hun fiets op en staan we met z'n vieren in de winkel; met "
             "minder mensen wordt het wachten te lang. Als je rooster verandert, horen we het "
             "graag.")


@dataclass
class Peak:
    bytes: int = 0


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """The most memory Python held at once inside the block, on top of what it held before."""
    peak = Peak()
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        yield peak
    finally:
        peak.bytes = tracemalloc.get_traced_memory()[1] - before
        if started:
            tracemalloc.stop()


def test_a_20_mb_survey_export_is_read_and_validated_in_flat_memory(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    with export.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for n in range(10_000):
            writer.writerow([f"r-{n}", "customer", n % 11, COMMENT, f"klant-{n}",
                             "Anna de Vries", "", "", "nl", "webshop",
                             "2026-11-20T10:15:00+01:00"])
    assert export.stat().st_size > 20 * MB

    with peak_memory() as peak:
        lines = read_lines(export)
        counted = len(lines)  # the progress bar's total, known before any line is imported
        imported = last = 0
        for line in lines:
            imported += line.response is not None
            last = line.number

    assert counted == imported == 10_000
    assert last == 2 + 2 * 9_999, "each comment spans two lines of the file"
    # A line and a chunk of the file at a time, and pydantic's fixed-size cache of short
    # strings (up to ~2 MB once full).
    assert peak.bytes < 5 * MB, f"{peak.bytes / MB:.1f} MB held to read a 20 MB file"


def test_a_long_rejection_sheet_is_read_and_checked_in_flat_memory(
        tmp_path: Path, org: Organisation) -> None:
    sheet = tmp_path / "afwijzingen.csv"
    with sheet.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(["applicant_id", "name", "email", "language", "vacancy_id",
                         "vacancy_title", "stage", "reason_code", "reason", "reason_code_2",
                         "reason_2"])
        # Checking a rejection takes milliseconds, so fewer (and longer) lines than above.
        for n in range(3_200):
            writer.writerow([f"sol-{n}", "Lisa Jansen", f"sollicitant-{n}@example.nl", "nl",
                             "v-fietsenmaker", "Fietsenmaker", "interview", "certification",
                             CERTIFICATE, "availability", SATURDAYS])
    assert sheet.stat().st_size > 2 * MB

    with peak_memory() as peak:
        lines = read_rejections(sheet, org, now=datetime.now(UTC))
        counted = len(lines)
        refusals = {line.refusal for line in lines}

    assert counted == 3_200
    assert refusals == {None}
    assert peak.bytes < 1 * MB, f"{peak.bytes / MB:.1f} MB held to read a 2 MB sheet"
