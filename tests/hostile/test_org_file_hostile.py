"""An organisation file edited by hand, badly or with ill intent: a line break, NUL or markup in
any text, a value of the wrong shape, an unknown key, bytes that are not TOML. Kringloop either
loads it or refuses it with the file, the key and the problem (`OrgFileError`), and never stops
with a traceback."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kringloop.org.organisation import Organisation, OrgFileError, load_organisation
from kringloop.settings import DEFAULT_ORG_FILE
from tests.hostile.strategies import breaking, hostile_text, markup

EXAMPLE = tomllib.loads(DEFAULT_ORG_FILE.read_text(encoding="utf-8"))
Path_ = tuple[str | int, ...]


def leaves(node: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every value in the file that is not a table or an array, with where it is."""
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for index, value in enumerate(node) for leaf in leaves(value, (*path, index))]
    return [(path, node)]


TEXTS = [path for path, value in leaves(EXAMPLE) if isinstance(value, str)]
EVERYWHERE = [path for path, _ in leaves(EXAMPLE)]


def tables(node: Any, path: Path_ = ()) -> list[Path_]:
    """Every table in the file whose keys are fixed (the programs table is keyed by name)."""
    found = [path] if isinstance(node, dict) and path != ("programs",) else []
    children = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else [])
    return found + [t for key, value in children for t in tables(value, (*path, key))]


TABLES = tables(EXAMPLE)

def key_of(path: Path_) -> str:
    """How the loader names a key: teams[0].members[2].email."""
    return "".join(f"[{part}]" if isinstance(part, int) else ("." if i else "") + part
                   for i, part in enumerate(path))


def toml_string(text: str) -> str:
    escaped = "".join(
        "\\" + ch if ch in '"\\' else f"\\u{ord(ch):04X}" if ord(ch) < 0x20 or ord(ch) == 0x7F
        else ch for ch in text)
    return f'"{escaped}"'


def toml_value(value: Any) -> str:
    """Any value as TOML (tables inline), enough to write an organisation file back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def written(tmp_path: Path, org: dict[str, Any]) -> Path:
    path = tmp_path / "org.toml"
    path.write_text("\n".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in org.items()),
                    encoding="utf-8")
    return path


def changed(path: Path_, value: Any) -> dict[str, Any]:
    org = tomllib.loads(DEFAULT_ORG_FILE.read_text(encoding="utf-8"))  # a fresh deep copy
    *parents, last = path
    node: Any = org
    for part in parents:
        node = node[part]
    node[last] = value
    return org


def loaded_or_refused(path: Path) -> Organisation | str:
    """The organisation, or the loader's one-line refusal; any other exception fails the test."""
    try:
        return load_organisation(path)
    except OrgFileError as refusal:
        assert str(refusal).startswith(f"{path}: "), refusal
        assert "\n" not in str(refusal) or "not valid TOML" in str(refusal)
        return str(refusal)


toml_values = st.recursive(
    st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
              hostile_text(), st.times()),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(hostile_text(), inner, max_size=3)),
    max_leaves=6)


def test_the_example_file_round_trips_through_our_writer(tmp_path: Path) -> None:
    assert isinstance(loaded_or_refused(written(tmp_path, changed(("name",), EXAMPLE["name"]))),
                      Organisation)


@given(where=st.sampled_from(TEXTS), text=breaking())
def test_a_line_break_or_nul_in_any_text_is_refused_naming_the_key(
        tmp_path: Path, where: Path_, text: str) -> None:
    file = written(tmp_path, changed(where, text))

    refusal = loaded_or_refused(file)

    assert isinstance(refusal, str), f"{key_of(where)} = {text!r} was accepted"
    assert refusal.startswith(f"{file}: {key_of(where)}: "), refusal


# A person's, a team's, the organisation's name; a source's name is an address (/api/hooks/…),
# a slug like a team's id.
NAMES = [p for p in TEXTS if (p[-1] == "name" and p[0] != "sources") or p[0] == "name"]


@given(where=st.sampled_from(NAMES), text=markup())
def test_markup_in_a_name_is_kept_as_text(tmp_path: Path, where: Path_, text: str) -> None:
    org = loaded_or_refused(written(tmp_path, changed(where, text)))

    assert isinstance(org, Organisation), org
    kept: Any = org.model_dump()
    for part in where:
        kept = kept[part]
    assert kept == text, "kept exactly as written: the pages and emails escape it"


@given(where=st.sampled_from(EVERYWHERE), value=toml_values)
def test_a_value_of_any_shape_anywhere_is_loaded_or_refused_with_the_file_and_key(
        tmp_path: Path, where: Path_, value: Any) -> None:
    loaded_or_refused(written(tmp_path, changed(where, value)))


@given(where=st.sampled_from(TABLES), key=hostile_text().filter(str.strip))
def test_an_unknown_key_is_refused_naming_it(tmp_path: Path, where: Path_, key: str) -> None:
    org = changed(("name",), EXAMPLE["name"])
    table: Any = org
    for part in where:
        table = table[part]
    assume(key not in table)
    table[key] = 1

    refusal = loaded_or_refused(written(tmp_path, org))

    assert isinstance(refusal, str), f"{key_of((*where, key))} was accepted"


@given(content=st.one_of(st.binary(max_size=200),
                         st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace"))))
def test_bytes_that_are_no_organisation_file_are_refused(tmp_path: Path, content: bytes) -> None:
    file = tmp_path / "org.toml"
    file.write_bytes(content)

    assert isinstance(loaded_or_refused(file), str)


@pytest.mark.parametrize("nesting", ["a = " + "[" * 50_000 + "]" * 50_000,
                                     "a = " + "{b = " * 5_000 + "1" + "}" * 5_000,
                                     "a = 1\n" + "[" + "x." * 20_000 + "y]\n"])
def test_a_file_nested_absurdly_deep_is_refused_not_a_crash(tmp_path: Path, nesting: str) -> None:
    file = tmp_path / "org.toml"
    file.write_text(nesting, encoding="utf-8")

    assert isinstance(loaded_or_refused(file), str)
