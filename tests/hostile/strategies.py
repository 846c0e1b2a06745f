"""Hostile input for the property tests: text with line breaks, NUL and markup mixed in, values
of the wrong type, and bodies that are not UTF-8.

Each strategy says what a field must do with it: `breaking` text never fits a one-line field
(a name, an id, an email header), `with_nul` text fits nowhere (PostgreSQL refuses NUL in text),
`markup` text is welcome anywhere free text is, and must come back out as text, not as HTML.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

LINE_BREAKS = ["\r", "\n", "\r\n", "\u2028", "\u2029", "\x85"]
NUL = "\x00"
# What a browser would run if a page or an email let it through unescaped.
MARKUP = [
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">klik</a>",
    "</textarea><svg onload=alert(1)>",
    "<iframe src=//evil.example>",
]
# Harmless for us, awkward elsewhere: templates, SQL, URLs, bidi overrides, emoji.
ODDITIES = ["{{ 7*7 }}", "${7*7}", "'; DROP TABLE survey_response; --", "%00", "\\", "&amp;",
            "é", "😀", "\u202e", "\ufeff"]

# Printable text: no control, format or surrogate characters, no line or paragraph separators.
printable = st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
                    max_size=12)


def _mixed(*extra: list[str], base: st.SearchStrategy[str] = printable
           ) -> st.SearchStrategy[str]:
    fragments = [base] + [st.sampled_from(choices) for choices in extra]
    return st.lists(st.one_of(*fragments), min_size=1, max_size=6).map("".join)


def hostile_text() -> st.SearchStrategy[str]:
    """Anything a survey tool or an attacker might send as text."""
    return _mixed(LINE_BREAKS, [NUL], MARKUP, ODDITIES)


def containing(needles: list[str], around: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text from `around` with one of `needles` inside it (never at an end, where a field's
    whitespace stripping would take a line break away)."""
    return st.tuples(around, st.sampled_from(needles), around).map(
        lambda parts: f"a{parts[0]}{parts[1]}{parts[2]}z")


def markup_around() -> st.SearchStrategy[str]:
    """Ordinary words with HTML, script and other oddities a one-line field accepts."""
    words = st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=8)
    return _mixed(MARKUP, ODDITIES[:-2], base=words)


def with_nul() -> st.SearchStrategy[str]:
    """Text with a NUL character in it: refused everywhere."""
    return containing([NUL], hostile_text())


def breaking() -> st.SearchStrategy[str]:
    """Acceptable text but for one line break (or NUL): refused in every one-line field."""
    return containing([*LINE_BREAKS, NUL], markup_around())


def markup() -> st.SearchStrategy[str]:
    """HTML and script in otherwise ordinary text: accepted in free text, shown as text."""
    return containing(MARKUP, markup_around())


def json_values(*, text: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Any JSON value, nested a few levels deep, with hostile text in its strings."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                        st.floats(allow_nan=False, allow_infinity=False),
                        text if text is not None else hostile_text())
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(hostile_text(), inner, max_size=3)),
        max_leaves=8)


def not_a_string() -> st.SearchStrategy[Any]:
    """A JSON value that a string field must refuse."""
    return st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False),
                     st.lists(st.integers(), max_size=2), st.just({"x": "y"}))


def not_a_score() -> st.SearchStrategy[Any]:
    """What survey tools send instead of a whole number from 0 to 10."""
    return st.one_of(
        st.integers(max_value=-1), st.integers(min_value=11),
        st.floats(allow_nan=False).filter(lambda f: not f.is_integer()),
        st.sampled_from([7.0, True, False, None, "7", "seven", "", [7], {"value": 7}]),
    )


# Byte sequences that are not UTF-8: a stray byte, a cut-off sequence, an overlong encoding,
# a surrogate encoded as if it were a character.
NOT_UTF8 = [b"\xff", b"\xc3", b"\xc3\x28", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"]


def spoiled(body: bytes) -> st.SearchStrategy[bytes]:
    """`body` with bytes that are not UTF-8 put in at some position."""
    return st.tuples(st.integers(0, len(body)), st.sampled_from(NOT_UTF8)).map(
        lambda cut: body[:cut[0]] + cut[1] + body[cut[0]:])
