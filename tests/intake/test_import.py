"""A survey export is imported: good lines open cases, bad lines are named by line number; run
beside `kringloop up`, the import finds its Temporal by itself."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import Engine, event, func
from sqlmodel import select

from kringloop.cases.models import Case
from kringloop.database import session_for
from kringloop.intake.csv_import import BATCH, COLUMNS, run_import
from kringloop.intake.schemas import ResponseCreate
from kringloop.intake.service import kept_response_id
from kringloop.resources import CHECKOUT as PROJECT_ROOT
from kringloop.responses.models import SurveyResponse
from kringloop.runtime.running_stack import FILE_NAME as RUNNING_STACK_FILE
from tests.support.command import KRINGLOOP, clean_environment
from tests.support.kringloop import Kringloop
from tests.support.stack import ANNA, case_when, kringloop_up

EXPORT = """\
response_id,program,score,comment,respondent_id,name,email,language,segment,answered_at
{prefix}-101,customer,3,"Fiets kwam twee weken te laat, niemand belde.",klant-1,Anna de Vries,\
anna@post.example,nl,,2026-11-20T10:15:00+01:00
{prefix}-102,customer,9,Top service!,klant-2,Bram Smit,bram@post.example,nl,,
{prefix}-103,customer,7.0,,klant-3,Carla Jansen,carla@post.example,nl,,
{prefix}-104,customer,2,,klant-4,"Dirk
Bakker",dirk@post.example,nl,,
{prefix}-105,,4,Geen programma ingevuld,klant-5,Eva Bos,eva@post.example,nl,,
{prefix}-106,customer,seven,,klant-6,Frank Kok,frank@post.example,en,,
{prefix}-107,employee,4,Te veel weekenddiensten,,,,nl,,
"""


@pytest.fixture
def prefix() -> str:
    """A prefix for response ids: the dev server (and its case workflows) outlive one test."""
    return uuid.uuid4().hex[:8]


def _temporal_address(live: Kringloop) -> str:
    return live.env.client.service_client.config.target_host


async def _import(live: Kringloop, path: Path, *, terminal: bool = False,
                  **changed: object) -> tuple[int, str]:
    """The import's exit code and what it printed (in a terminal: with its progress bar);
    `changed` settings beside the live fixture's."""
    output = io.StringIO()
    # Plain payloads: the live fixture's worker has no payload key (encryption has its tests).
    settings = live.settings.model_copy(update={"temporal_address": _temporal_address(live),
                                                "payload_encryption": False, **changed})
    console = Console(file=output, width=200, color_system=None, force_terminal=terminal)
    code = await run_import(path, settings=settings, console=console)
    return code, output.getvalue()


def _counts(live: Kringloop) -> tuple[int, int]:
    with session_for(live.engine) as session:
        responses = session.exec(select(func.count()).select_from(SurveyResponse)).one()
        cases = session.exec(select(func.count()).select_from(Case)).one()
    return responses, cases


def _anonymous(live: Kringloop, prefix: str) -> str:
    """The id line 9's anonymous employee answer is kept under: a keyed hash of the tool's."""
    return kept_response_id(ResponseCreate(response_id=f"{prefix}-107", program="employee",
                                           score=4), key=live.settings.signing_key)


async def _assigned(live: Kringloop, *case_ids: str) -> None:
    for case_id in case_ids:
        await live.case_when(case_id, lambda case: case["assignee"] is not None)


async def test_good_lines_are_imported_and_bad_lines_are_named_by_line_number(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT.format(prefix=prefix), encoding="utf-8")

    code, output = await _import(live, export)

    assert code == 1, output
    assert "line 4: score: Input should be a valid integer" in output
    assert "line 5: name: Value error, must not contain control characters" in output
    assert "line 7: program: Field required" in output
    assert "line 8: score: Input should be a valid integer" in output
    assert "line 2:" not in output and "line 9:" not in output
    await _assigned(live, f"case-{prefix}-101", f"case-{_anonymous(live, prefix)}")
    detractor = await live.case(f"case-{prefix}-101")
    assert detractor["respondent"]["name"] == "Anna de Vries"
    assert detractor["comment"] == "Fiets kwam twee weken te laat, niemand belde."
    with session_for(live.engine) as session:
        imported = session.exec(select(SurveyResponse).order_by(SurveyResponse.id)).all()
    assert sorted((r.id, r.source) for r in imported) == sorted([
        (f"{prefix}-101", "import"), (f"{prefix}-102", "import"),
        (_anonymous(live, prefix), "import")])
    assert _counts(live) == (3, 2)
    assert "cases opened" in output


async def test_importing_the_same_file_again_opens_no_duplicate_cases(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT.format(prefix=prefix), encoding="utf-8")
    await _import(live, export)
    await _assigned(live, f"case-{prefix}-101", f"case-{_anonymous(live, prefix)}")

    code, output = await _import(live, export)

    assert code == 1  # the bad lines are still bad
    summary = output[output.index("imported"):]
    assert "already known" in summary
    await asyncio.sleep(1)  # a duplicate case, if any, would have been opened by now
    assert _counts(live) == (3, 2)


async def test_an_excel_export_with_semicolons_and_a_byte_order_mark_is_imported(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    rows = ["response_id;program;score;comment;name;email;language;segment;;",
            f"{prefix}-1;customer;5;Factuur klopte niet, twee keer afgeschreven;Ilse Dekker;"
            "ilse@post.example;nl;zakelijk;;",
            f"{prefix}-2;customer;10;Fantastische werkplaats, fiets als nieuw;Kees Mol;;nl;;;",
            ";;;;;;;;;",
            f"{prefix}-3;candidate;1;Nooit meer iets gehoord na het gesprek;Mila Rood;"
            "mila@post.example;en;;;"]
    export = tmp_path / "excel.csv"
    export.write_bytes("\r\n".join(rows).encode("utf-8-sig") + b"\r\n")

    code, output = await _import(live, export)

    assert code == 0, output
    await _assigned(live, f"case-{prefix}-1", f"case-{prefix}-3")
    business = await live.case(f"case-{prefix}-1")
    assert business["team"] == "zakelijk"
    assert business["respondent"]["segment"] == "zakelijk"
    assert (await live.case(f"case-{prefix}-3"))["team"] == "werving"
    assert _counts(live) == (3, 2)


async def test_an_unknown_column_is_refused_before_anything_is_imported(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text("response_id,program,score,nps_comment\n"
                      f"{prefix}-1,customer,2,Slecht\n", encoding="utf-8")

    code, output = await _import(live, export)

    assert code == 2
    assert "unknown column nps_comment" in output
    assert _counts(live) == (0, 0)


# Saved by an editor in its own encoding ("Café" as Latin-1), or a cell of pasted logs: found
# only at the end of the file, yet the file is refused whole, with the line to look at.
UNUSABLE_LAST_LINES = {
    "latin-1": ("x-1,customer,8,Café was dicht,,,,,nl,,\n".encode("latin-1"),
                "line 1002: not UTF-8 text; save the export as CSV UTF-8"),
    "huge cell": (b'x-1,customer,8,"' + b"Traceback " * 20_000 + b'",,,,,nl,,\n',
                  "line 1002: not valid CSV: field larger than field limit"),
}


@pytest.mark.parametrize("problem", UNUSABLE_LAST_LINES)
async def test_an_export_found_unusable_near_its_end_imports_nothing(
        live: Kringloop, tmp_path: Path, prefix: str, problem: str) -> None:
    last_line, message = UNUSABLE_LAST_LINES[problem]
    export = tmp_path / "export.csv"
    export.write_bytes((",".join(COLUMNS) + "\n").encode() + "".join(
        f"{prefix}-{n},customer,{n % 11},Prima geholpen,,Anna de Vries,,,nl,,\n"
        for n in range(1_000)).encode() + last_line + f"{prefix}-x,customer,9,,,,,,,,\n".encode())

    code, output = await _import(live, export)

    assert code == 2, output
    assert f"kringloop import: {export}: {message}" in output
    assert _counts(live) == (0, 0)


async def test_the_progress_bar_counts_every_data_line_of_the_export(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text(EXPORT.format(prefix=prefix), encoding="utf-8")

    code, output = await _import(live, export, terminal=True)

    assert code == 1, output
    # Seven data lines (one over two lines of the file), four of them refused: all are counted.
    assert "importing" in output and "7/7" in output, output
    await _assigned(live, f"case-{prefix}-101", f"case-{_anonymous(live, prefix)}")


async def test_the_import_command_reports_bad_lines_and_exits_with_1(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    export = tmp_path / "export.csv"
    export.write_text("response_id,program,score,name\n"
                      f"{prefix}-1,customer,4,Noor Hendriks\n"
                      f"{prefix}-2,customer,11,Youssef Benali\n", encoding="utf-8")
    env = os.environ | {
        "KRINGLOOP_TEMPORAL_ADDRESS": _temporal_address(live),
        "KRINGLOOP_DATABASE_URL": live.settings.database_url,
        "KRINGLOOP_TASK_QUEUE": live.settings.task_queue,
        "KRINGLOOP_HOME": str(live.settings.home),
        "KRINGLOOP_PAYLOAD_ENCRYPTION": "false",  # the live fixture's worker has no key
    }
    command = await asyncio.create_subprocess_exec(
        str(KRINGLOOP), "import", str(export), cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(command.communicate(), timeout=60)

    output = stdout.decode() + stderr.decode()
    assert command.returncode == 1, output
    assert "line 3: score: Input should be less than or equal to 10" in output
    await _assigned(live, f"case-{prefix}-1")
    assert _counts(live) == (1, 1)


async def test_an_export_imported_beside_kringloop_up_needs_no_temporal_address(
    tmp_path: Path, prefix: str,
) -> None:
    home = tmp_path / "home"
    export = tmp_path / "responses.csv"
    response_id = f"{prefix}-201"
    export.write_text("response_id,program,score,comment,name,email,language\n"
                      f"{response_id},customer,2,Ketting brak na een week,{ANNA['name']},"
                      f"{ANNA['email']},nl\n", encoding="utf-8")
    async with kringloop_up(tmp_path) as stack:
        await stack.printed(r"web app")  # /health may answer a moment before `up` is done
        assert (home / RUNNING_STACK_FILE).exists()

        # A second terminal in the same folder: no Temporal address, no database URL.
        command = await asyncio.create_subprocess_exec(
            str(KRINGLOOP), "import", str(export), cwd=tmp_path,
            env=clean_environment(KRINGLOOP_HOME=str(home)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output = (await asyncio.wait_for(command.communicate(), 60))[0].decode()

        assert command.returncode == 0, output
        case = await case_when(stack.web_url, f"case-{response_id}", {"opened", "assigned"})
        assert case["score"] == 2
        assert await stack.terminate() == 0, stack.output()
    assert not (home / RUNNING_STACK_FILE).exists(), "a stopped `up` leaves no trace"


# --- a long export, a batch of lines at a time ------------------------------------------------

def _write_export(path: Path, rows: list[list[object]]) -> Path:
    """An export with the import's columns: response_id, program, score, comment,
    respondent_id, name, email, phone, language, segment, answered_at."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def _answer(response_id: str, score: object, *, program: str = "customer") -> list[object]:
    comment = "Fiets kwam te laat, niemand belde" if str(score) in "0123456" else "Prima geholpen"
    return [response_id, program, score, comment, "klant-1", "Zoë de Wit",
            "zoe@post.example", "", "nl", "", "2026-11-20T10:15:00+01:00"]


def _summary(output: str) -> dict[str, int]:
    """The summary table's counts by name (`imported`, `already known`, ...)."""
    rows = re.findall(r"^[│┃]\s*(.+?)\s*[│┃]\s*(\d+)\s*[│┃]$", output, flags=re.MULTILINE)
    return {name: int(count) for name, count in rows}


@contextmanager
def _inserts_into_survey_response() -> Iterator[list[str]]:
    """The INSERT statements into survey_response sent while the block runs."""
    sent: list[str] = []

    def seen(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SURVEY_RESPONSE"):
            sent.append(statement)

    event.listen(Engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", seen)


def _long_export(path: Path, prefix: str, lines: int, *,
                 detractors: dict[int, str] | None = None) -> Path:
    """`lines` happy customers, but for the detractors at the given places (by program)."""
    low = detractors or {}
    return _write_export(path, [
        _answer(f"{prefix}-{n}", 2 if n in low else 9, program=low.get(n, "customer"))
        for n in range(lines)])


async def test_a_long_export_is_stored_a_batch_at_a_time_each_line_once(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    lines = 2 * BATCH + 234
    at = {10: "customer", 600: "customer", 1_100: "employee"}  # one in each batch
    export = _long_export(tmp_path / "export.csv", prefix, lines, detractors=at)

    with _inserts_into_survey_response() as inserts:
        code, output = await _import(live, export)

    assert code == 0, output
    assert len(inserts) == 3, "one statement a batch, not one a line"
    assert _summary(output) == {"imported": lines, "already known": 0, "refused": 0,
                                "cases opened": 3}
    employee = kept_response_id(ResponseCreate(response_id=f"{prefix}-1100", program="employee",
                                               score=2), key=live.settings.signing_key)
    await _assigned(live, f"case-{prefix}-10", f"case-{prefix}-600", f"case-{employee}")
    assert _counts(live) == (lines, 3)
    with session_for(live.engine) as session:
        anonymous = session.get(SurveyResponse, employee)
        assert session.get(SurveyResponse, f"{prefix}-1100") is None
    # The employee's line named them: kept as the API keeps an anonymous answer, nobody's.
    assert anonymous is not None
    assert (anonymous.name, anonymous.email, anonymous.respondent_id) == (None, None, None)
    assert anonymous.meta == {"contact_consent": False}
    assert anonymous.answered_at.minute == anonymous.answered_at.second == 0


async def test_a_long_export_imported_again_imports_nothing_twice(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    lines = BATCH + 100
    export = _long_export(tmp_path / "export.csv", prefix, lines, detractors={3: "customer"})
    await _import(live, export)
    await _assigned(live, f"case-{prefix}-3")

    with _inserts_into_survey_response() as inserts:
        code, output = await _import(live, export)

    assert code == 0, output
    assert inserts == []
    assert _summary(output) == {"imported": 0, "already known": lines, "refused": 0,
                                "cases opened": 0}
    await asyncio.sleep(1)  # a duplicate case, if any, would have been opened by now
    assert _counts(live) == (lines, 1)


async def test_a_bad_line_in_a_batch_is_named_and_the_rest_of_its_batch_imported(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    rows = [_answer(f"{prefix}-{n}", 8) for n in range(BATCH + 200)]
    rows[250] = _answer(f"{prefix}-250", 11)
    rows[251][1] = ""  # no program
    export = _write_export(tmp_path / "export.csv", rows)

    with _inserts_into_survey_response() as inserts:
        code, output = await _import(live, export)

    assert code == 1, output
    assert len(inserts) == 2
    assert "line 252: score: Input should be less than or equal to 10" in output
    assert "line 253: program: Field required" in output
    assert _summary(output) == {"imported": BATCH + 198, "already known": 0, "refused": 2,
                                "cases opened": 0}
    with session_for(live.engine) as session:
        assert session.get(SurveyResponse, f"{prefix}-249") is not None
        assert session.get(SurveyResponse, f"{prefix}-250") is None
        assert session.get(SurveyResponse, f"{prefix}-252") is not None
    assert _counts(live) == (BATCH + 198, 0)


async def test_a_detractor_in_an_export_twice_opens_exactly_one_case(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    rows = [_answer(f"{prefix}-{n}", 9) for n in range(BATCH + 50)]
    # The same answer again in its own batch, and in the next one (under way beside it).
    for n in (5, 7, BATCH + 20):
        rows[n] = _answer(f"{prefix}-unhappy", 1)
    export = _write_export(tmp_path / "export.csv", rows)

    code, output = await _import(live, export)

    assert code == 0, output
    assert _summary(output) == {"imported": BATCH + 48, "already known": 2, "refused": 0,
                                "cases opened": 1}
    await _assigned(live, f"case-{prefix}-unhappy")
    await asyncio.sleep(1)  # a second case, if any, would have been opened by now
    assert _counts(live) == (BATCH + 48, 1)
    runs = [w async for w in live.env.client.list_workflows(
        f'WorkflowId = "case-{prefix}-unhappy"')]
    assert len(runs) == 1


async def test_detractors_whose_cases_temporal_refuses_are_not_imported_until_a_rerun(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    at = {40: "customer", 480: "candidate", 501: "customer", 650: "employee"}
    lines = BATCH + 200
    export = _long_export(tmp_path / "export.csv", prefix, lines, detractors=at)

    # A Temporal that refuses every start (a namespace it does not have): not the file's fault.
    code, output = await _import(live, export, temporal_namespace="nowhere")

    assert code == 1, output
    for number in sorted(at):
        assert re.search(rf"^line {number + 2}: not imported: .*nowhere", output, re.MULTILINE)
    assert _summary(output) == {"imported": lines - 4, "already known": 0, "refused": 0,
                                "not imported (try again)": 4, "cases opened": 0}
    assert _counts(live) == (lines - 4, 0), "a line whose case did not start is not kept"

    code, output = await _import(live, export)

    assert code == 0, output
    assert _summary(output) == {"imported": 4, "already known": lines - 4, "refused": 0,
                                "cases opened": 4}


async def test_a_batch_the_database_refuses_is_not_imported_until_a_rerun(
        live: Kringloop, tmp_path: Path, prefix: str) -> None:
    lines = BATCH + 200
    export = _long_export(tmp_path / "export.csv", prefix, lines,
                          detractors={BATCH + 10: "customer"})
    refusing = f"{prefix}-{BATCH + 100}"  # the second batch's: the database refuses it
    _refuse_insert(live.engine, refusing)

    code, output = await _import(live, export)

    assert code == 1, output
    assert _summary(output) == {"imported": BATCH, "already known": 0, "refused": 0,
                                "not imported (try again)": 200, "cases opened": 0}
    assert f"line {BATCH + 2}: not imported: " in output
    assert f"line {lines + 1}: not imported: " in output and "disk full" in output
    assert _counts(live) == (BATCH, 0), "nothing of the refused batch is kept"

    _refuse_insert(live.engine, None)
    code, output = await _import(live, export)

    assert code == 0, output
    assert _summary(output) == {"imported": 200, "already known": BATCH, "refused": 0,
                                "cases opened": 1}
    await _assigned(live, f"case-{prefix}-{BATCH + 10}")
    assert _counts(live) == (lines, 1)


def _refuse_insert(engine: Engine, response_id: str | None) -> None:
    """A database that refuses to store one answer (as a full disk would), or (None) no more."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_insert" if sqlite else
                                   "DROP TRIGGER IF EXISTS refuse_insert ON survey_response")
        if response_id is None:
            return
        if sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_insert BEFORE INSERT ON survey_response "
                f"WHEN NEW.id = '{response_id}' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        else:
            connection.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.id = '{response_id}' THEN RAISE EXCEPTION 'disk full'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql")
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_insert BEFORE INSERT ON survey_response "
                "FOR EACH ROW EXECUTE FUNCTION refuse_insert()")
