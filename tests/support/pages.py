"""A page as its reader gets it, read from the HTML: one element's content, a queue's row, what
keeps it from a screen reader or a keyboard, and whether anything in it could run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


def element(html: str, element_id: str) -> str:
    found = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(2)


def row(html: str, case_id: str) -> str:
    found = re.search(rf'<tr data-case-id="{re.escape(case_id)}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"{case_id} is not in the queue"
    return found.group(0)


# --- what a screen reader or a keyboard makes of a page -----------------------------------------

FIELDS = ("input", "select", "textarea")
NOT_FIELDS = ("hidden", "submit", "reset", "button", "image")  # input types that are no field


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    form: int | None  # the enclosing <form>, by its place on the page
    text: str = ""


@dataclass
class Outline(HTMLParser):
    """What assistive technology makes of a page: its language, headings, labels and controls."""

    lang: str = ""
    headings: int = 0
    ids: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # for= -> the label's text
    forms: list[dict[str, str]] = field(default_factory=list)
    controls: list[Control] = field(default_factory=list)
    posing_as_buttons: list[str] = field(default_factory=list)  # role="button" on a non-button
    _form: int | None = None
    _label: str | None = None
    _label_text: list[str] = field(default_factory=list)
    _button: Control | None = None

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if "id" in found:
            self.ids.append(found["id"])
        if found.get("role") == "button" and tag != "button":
            self.posing_as_buttons.append(tag)
        if tag == "html":
            self.lang = found.get("lang", "")
        elif tag == "h1":
            self.headings += 1
        elif tag == "form":
            self.forms.append(found)
            self._form = len(self.forms) - 1
        elif tag == "label":
            self._label, self._label_text = found.get("for", ""), []
        elif tag in (*FIELDS, "button"):
            self.controls.append(Control(tag, found, self._form))
            if tag == "button":
                self._button = self.controls[-1]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "label" and self._label is not None:
            self.labels[self._label] = "".join(self._label_text).strip()
            self._label = None
        elif tag == "button":
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label_text.append(data)
        if self._button is not None:
            self._button.text += data


def is_submit(control: Control) -> bool:
    if control.tag == "button":
        return control.attrs.get("type", "submit") == "submit"
    return control.tag == "input" and control.attrs.get("type") in ("submit", "image")


def problems_of(html: str) -> list[str]:
    """What keeps a page from a screen reader or a keyboard, in words; none is good."""
    page = Outline()
    page.feed(html)
    found = [] if page.lang else ["<html> says no lang"]
    if page.headings != 1:
        found.append(f"{page.headings} <h1> headings, not one")
    twice = sorted({i for i in page.ids if page.ids.count(i) > 1})
    found += [f"id {i!r} used twice" for i in twice]
    for control in page.controls:
        described = f"<{control.tag} name={control.attrs.get('name')!r}>"
        if control.tag == "button":
            if control.attrs.get("type", "submit") != "submit":
                found.append(f"{described} does nothing without JavaScript")
            if not (control.text.strip() or control.attrs.get("aria-label", "").strip()):
                found.append(f"{described} has no text")
            continue
        if control.tag == "input" and control.attrs.get("type", "text") in NOT_FIELDS:
            continue
        missing = [i for i in control.attrs.get("aria-describedby", "").split()
                   if i not in page.ids]
        if missing:
            found.append(f"{described} is described by {missing}, not on the page")
        labelled_by = control.attrs.get("aria-labelledby", "").split()
        if not (page.labels.get(control.attrs.get("id", "")) or
                control.attrs.get("aria-label", "").strip() or
                (labelled_by and all(i in page.ids for i in labelled_by))):
            found.append(f"{described} has no label")
    found += [f"<{tag} role=button> is no real button" for tag in page.posing_as_buttons]
    for number, form in enumerate(page.forms):
        submits = [c for c in page.controls if is_submit(c) and (
            c.form == number or (form.get("id") and c.attrs.get("form") == form["id"]))]
        if not submits:
            found.append(f"<form action={form.get('action')!r}> has no submit button")
    return found


# --- nothing on a page runs -------------------------------------------------------------------

class _Tags(HTMLParser):
    """The elements and attributes a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_inert(html: str, *, texts: tuple[str, ...] = ()) -> None:
    """Nothing in `html` runs: no script, frame or svg element, no event handler, no
    javascript: link; and none of `texts` (hostile text we sent) appears unescaped."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag not in ("script", "iframe", "svg", "object", "embed"), f"<{tag}> in the page"
        for name, value in attrs:
            assert not name.startswith("on"), f"<{tag} {name}=...> in the page"
            assert not (value or "").strip().lower().startswith("javascript:"), value
    for text in texts:
        assert text not in html, f"{text!r} unescaped"
