"""Reading a spreadsheet export line by line, shared by every CSV command (`kringloop import`,
`kringloop reject`): UTF-8 with or without Excel's byte order mark, `,` or `;`, checked columns,
the lines read as they go under a progress bar, and what became of them by line number."""

from __future__ import annotations

import asyncio
import csv
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
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
        """The refused lines in file order, then those to try again."""
        return [f"line {number}: {message}" for number, message
                in sorted(self.refused, key=lambda refused: refused[0]) + self.failed]

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


async def _read_ahead(lines: Iterable[LineT], *, batch: int = 200) -> AsyncIterator[LineT]:
    """The lines, read and checked a batch at a time in a worker thread: reading the file
    never holds up the event loop (and Temporal's client with it) for long."""
    reading = iter(lines)
    while read := await asyncio.to_thread(list, islice(reading, batch)):
        for line in read:
            yield line


async def run_lines(command: str, lines: FileLines[LineT],
                    handle: Callable[[LineT, Engine, Client], Awaitable[None]], *,
                    report: LineReport, settings: Settings, console: Console, doing: str,
                    undone: str) -> int:
    """Every CSV command's run: the lines are read as they go, under a progress bar over all
    of them; each that is not refused goes to `handle`, with the database and Temporal at
    hand, and one that fails for another reason is `undone` (to try again). Then what became
    of the lines; 0 all went through, 1 some lines refused or undone, 2 Temporal cannot be
    reached (or the file changed and became unusable halfway)."""
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
            try:
                async for line in _read_ahead(lines):
                    if line.refusal:
                        report.refused.append((line.number, line.refusal))
                    else:
                        try:
                            await handle(line, engine, client)
                        except Exception as error:  # a service hiccup: the line can be retried
                            report.failed.append((line.number, f"{undone}: {error}"))
                    progress.advance(bar)
            except UnreadableFile as problem:  # changed since the first pass read it
                unusable = problem
    finally:
        engine.dispose()
    for message in report.messages():
        say(console, message)
    console.print(report.table())
    if unusable:
        say(console, f"kringloop {command}: {unusable}")
        return 2
    return report.exit_code

