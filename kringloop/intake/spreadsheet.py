"""Reading a spreadsheet export line by line, shared by every CSV command (`kringloop import`,
`kringloop reject`): UTF-8 with or without Excel's byte order mark, `,` or `;`, checked columns,
the lines read as they go and handled a batch at a time under a progress bar, and what became
of them by line number."""

from __future__ import annotations

import asyncio
import csv
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import aclosing, closing
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from temporalio.client import Client

from kringloop.database import make_engine
from kringloop.settings import Settings
from kringloop.temporal_client import connect_temporal

LineT = TypeVar("LineT", bound="FileLine")
# Lines read (and checked) in the worker thread at a time, however few a command handles at once.
READ_AT_ONCE = 200


class UnreadableFile(Exception):
    """A file that cannot be imported at all; nothing of it was imported."""


class FileLine(Protocol):
    """A data line of a CSV command's file: its number, and why it is refused (if it is)."""

    @property
    def number(self) -> int: ...

    @property
    def refusal(self) -> str | None: ...


@dataclass
class LineReport(ABC):
    """What became of a file's lines: by line number, the refused ones and those a service
    hiccup kept out (they may simply be tried again). Commands add their own counts."""

    refused: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.refused or self.failed else 0

    def messages(self) -> list[str]:
        """The refused lines in file order, then those to try again (in file order too:
        batches under way together may finish in any order)."""
        return [f"line {number}: {message}" for number, message
                in sorted(self.refused, key=itemgetter(0)) + sorted(self.failed, key=itemgetter(0))]

    @abstractmethod
    def table(self) -> Table:
        """The command's summary, its own counts around `unfinished_rows`."""

    def unfinished_rows(self, not_done: str) -> list[tuple[str, int]]:
        """The refused lines, and those to try again (shown only when there are any)."""
        return [("refused", len(self.refused)),
                *([(f"{not_done} (try again)", len(self.failed))] if self.failed else [])]


def _text_lines(path: Path) -> Iterator[str]:
    """The file's lines as text, each with its line break, read a chunk at a time. Each line
    is decoded on its own, so a byte that is not UTF-8 is named by the line it is on."""
    encoding = "utf-8-sig"  # Excel puts a byte order mark in front
    try:
        # Latin-1 is one character per byte and back: the lines split where `csv` wants them
        # (`\r\n`, `\r` or `\n`, kept), and a break, being ASCII, never cuts a UTF-8 character.
        with path.open(encoding="latin-1", newline="") as bytewise:
            for number, line in enumerate(bytewise, start=1):
                try:
                    text = line.encode("latin-1").decode(encoding)
                except UnicodeDecodeError:
                    raise UnreadableFile(f"{path}: line {number}: not UTF-8 text; "
                                         "save the export as CSV UTF-8") from None
                yield text
                encoding = "utf-8"
    except OSError as error:
        raise UnreadableFile(f"{path}: cannot read: {error.strerror}") from None


def _delimiter(header: str) -> str:
    """Excel in Dutch (and many European) locales writes `;` where others write `,`."""
    return ";" if header.count(";") > header.count(",") else ","


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's CSV records, the header first, each with the line it starts on (a quoted
    cell may span several lines); `,` or `;` as the header line has it."""
    lines = _text_lines(path)
    first = next(lines, "")
    reader = csv.reader(chain([first], lines), delimiter=_delimiter(first))
    last = 0
    try:
        for record in reader:
            yield last + 1, record
            last = reader.line_num
    except csv.Error as error:
        raise UnreadableFile(f"{path}: line {reader.line_num}: not valid CSV: {error}") from None


def _columns_of(header: list[str], path: Path, columns: Sequence[str],
                required: Sequence[str]) -> list[str]:
    if not any(name.strip() for name in header):
        raise UnreadableFile(f"{path}: empty file; expected a header row "
                             f"with at least {', '.join(required)}")
    names = [name.strip().lower() for name in header]
    while names and not names[-1]:
        names.pop()  # spreadsheets like to add empty columns at the end
    # Shown escaped: a name holding ESC or a line break must not steer the operator's terminal.
    unknown = ["".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode()
                       for ch in name) or "(empty)" for name in names if name not in columns]
    if unknown:
        raise UnreadableFile(f"{path}: unknown column{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(unknown)}; the columns are {', '.join(columns)}")
    repeated = sorted(name for name, n in Counter(names).items() if n > 1)
    if repeated:
        raise UnreadableFile(f"{path}: column {', '.join(repeated)} appears more than once")
    missing = [name for name in required if name not in names]
    if missing:
        raise UnreadableFile(f"{path}: missing column {', '.join(missing)}")
    return names


def read_rows(path: Path, *, columns: Sequence[str], required: Sequence[str]
              ) -> Iterator[tuple[int, dict[str, str] | str]]:
    """A spreadsheet export's data lines as they are read: (line number, cells by column), or
    (line number, why the line cannot be read). Shared by every CSV command: UTF-8 with or
    without Excel's byte order mark, `,` or `;`, quoted cells over several lines, blank lines
    skipped. An unusable file raises UnreadableFile where its problem is found."""
    with closing(_records(path)) as records:
        _, header = next(records, (1, []))
        names = _columns_of(header, path, columns, required)
        for number, record in records:
            if not any(cell.strip() for cell in record):
                continue  # blank lines and Excel's trailing ";;;;"
            if any(cell.strip() for cell in record[len(names):]):
                yield number, f"{len(record)} cells but {len(names)} columns"
            else:
                yield number, dict(zip(names, record, strict=False))


class FileLines(Generic[LineT]):
    """A CSV command's data lines. Made only from a usable file: a first pass reads it whole
    (every byte UTF-8, valid CSV, known columns) and counts its lines, keeping none, so that
    an unusable file imports nothing. Iterating is the second pass: each line is read and
    checked as it is needed, so memory stays flat however long the file."""

    def __init__(self, path: Path, *, columns: Sequence[str], required: Sequence[str],
                 line: Callable[[int, dict[str, str] | str], LineT]) -> None:
        self._rows = partial(read_rows, path, columns=columns, required=required)
        self._line = line
        self._count = sum(1 for _ in self._rows())

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[LineT]:
        return (self._line(number, cells) for number, cells in self._rows())


def say(console: Console, message: str) -> None:
    """Text from the file or a service, printed as it is: no markup, no highlighting."""
    console.print(message, markup=False, highlight=False, soft_wrap=True)


def summary_table(title: str, rows: Sequence[tuple[str, int]]) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for name, count in rows:
        table.add_row(name, str(count))
    return table


async def _batches(lines: Iterable[LineT], *, size: int) -> AsyncIterator[list[LineT]]:
    """The lines `size` at a time, read and checked in a worker thread a chunk ahead of the
    one being handled: reading never holds up the event loop (and Temporal's client with it),
    and the file is read while the database and Temporal work."""
    reading = iter(lines)

    def chunk() -> list[LineT]:
        return list(islice(reading, max(size, READ_AT_ONCE)))

    ahead = asyncio.ensure_future(asyncio.to_thread(chunk))
    try:
        while read := await ahead:
            ahead = asyncio.ensure_future(asyncio.to_thread(chunk))
            for at in range(0, len(read), size):
                yield read[at:at + size]
    finally:
        # Stopped early: the chunk being read is waited for (a thread cannot be stopped),
        # and what it found is dropped: the run is over, for a reason of its own.
        await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()


LinesHandler = Callable[[list[LineT], Engine, Client], Awaitable[Mapping[int, Exception]]]


async def run_batches(command: str, lines: FileLines[LineT], handle: LinesHandler[LineT], *,
                      size: int, at_once: int = 1, report: LineReport, settings: Settings,
                      console: Console, doing: str, undone: str) -> int:
    """Every CSV command's run: the lines are read as they go, under a progress bar over all
    of them; those that are not refused go to `handle` `size` at a time (`at_once` batches
    under way together), with the database and Temporal at hand. It answers the lines it
    could not do, by number, with why; if it fails, every line it was given failed. Such a
    line is `undone` (to try again). Then what became of the lines; 0 all went through, 1
    some lines refused or undone, 2 Temporal cannot be reached (or the file changed and
    became unusable halfway)."""
    assert settings.temporal_address, "the CLI requires KRINGLOOP_TEMPORAL_ADDRESS"
    try:
        client = await connect_temporal(settings)
    except RuntimeError as error:
        say(console, f"kringloop {command}: cannot reach Temporal at "
                     f"{settings.temporal_address}: {error}")
        return 2
    unusable: UnreadableFile | None = None
    engine = make_engine(settings.database_url)
    try:
        with Progress(TextColumn(doing), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            bar = progress.add_task(command, total=len(lines))

            async def through(batch: list[LineT]) -> None:
                failed = await _handled(handle, [line for line in batch if not line.refusal],
                                        engine, client)
                report.failed += [(number, f"{undone}: {error}")
                                  for number, error in failed.items()]
                progress.advance(bar, len(batch))

            under_way: set[asyncio.Task[None]] = set()
            try:
                async with aclosing(_batches(lines, size=size)) as batches:
                    async for batch in batches:
                        report.refused += [(line.number, refusal)
                                           for line in batch if (refusal := line.refusal)]
                        if len(under_way) >= at_once:
                            _, under_way = await asyncio.wait(
                                under_way, return_when=asyncio.FIRST_COMPLETED)
                        under_way.add(asyncio.create_task(through(batch)))
            except UnreadableFile as problem:  # changed since the first pass read it
                unusable = problem
            finally:
                await asyncio.gather(*under_way)  # what is under way is finished and told
    finally:
        engine.dispose()
    for message in report.messages():
        say(console, message)
    console.print(report.table())
    if unusable:
        say(console, f"kringloop {command}: {unusable}")
        return 2
    return report.exit_code


async def _handled(handle: LinesHandler[LineT], batch: list[LineT], engine: Engine,
                   client: Client) -> Mapping[int, Exception]:
    if not batch:
        return {}
    try:
        return await handle(batch, engine, client)
    except Exception as error:  # a service hiccup: the lines can be retried
        return {line.number: error for line in batch}


async def run_lines(command: str, lines: FileLines[LineT],
                    handle: Callable[[LineT, Engine, Client], Awaitable[None]], *,
                    report: LineReport, settings: Settings, console: Console, doing: str,
                    undone: str) -> int:
    """`run_batches` a line at a time, for a command whose service takes one line at a time."""

    async def one(batch: list[LineT], engine: Engine, client: Client) -> Mapping[int, Exception]:
        line, = batch
        await handle(line, engine, client)
        return {}

    return await run_batches(command, lines, one, size=1, report=report, settings=settings,
                             console=console, doing=doing, undone=undone)
