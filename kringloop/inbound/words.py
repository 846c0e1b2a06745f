"""The respondent's own words in an email body: the quoted history (our email, earlier replies)
taken off, HTML sanitised, and plain text derived from HTML when there is no text part."""

from __future__ import annotations

import html
import re
import secrets
from html.parser import HTMLParser
from re import Pattern

import nh3
from mailparser_reply import EmailMessage

# The longest text or HTML kept of one email; a longer one is cut (the rest is a quote, a
# signature or an attack, never a respondent's answer).
MAX_CHARACTERS = 100_000
CUT = "\n[…]"
# The reply parser's patterns take time that grows steeply with a line's length, so it reads
# only the start of the text (where an answer and the attribution below it are) and no line
# longer than an attribution gets: such a line is held back and put back afterwards.
MAX_PARSED = 20_000
MAX_PARSED_LINE = 250
# Dutch and English are the languages Kringloop writes in; the parser adds English itself.
LANGUAGES = ["nl"]
# Attribution lines mail-parser-reply does not know: Gmail's and Apple Mail's Dutch ones
# ("Op di 3 mrt 2026 om 10:12 schreef Naam <adres>:", a line break allowed inside, as Gmail
# wraps it in plain text; "Op 3 mrt 2026, om 10:12 heeft Naam het volgende geschreven:").
_DUTCH_ATTRIBUTIONS = (
    r"^((?:> ?)*Op [^\n]{1,200}? schreef [^\n]{0,200}(?:\n[^\n]{0,200})??:)[ \t]*$"
    r"|^((?:> ?)*Op [^\n]{1,200}? heeft [^\n]{1,200}? het volgende geschreven:)[ \t]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Reply(EmailMessage):
    """mail-parser-reply's message, knowing the attribution lines above as well."""

    @property
    def HEADER_REGEX(self) -> Pattern[str]:  # the parser's name for it
        if self._header_regex is None:
            known = super().HEADER_REGEX.pattern
            self._header_regex = re.compile(f"{known}|{_DUTCH_ATTRIBUTIONS}",
                                            flags=re.MULTILINE | re.IGNORECASE)
        return self._header_regex


def clean_text(text: str) -> str:
    """Text as it may be stored and shown: line ends normalised, no control characters (NUL
    is refused by PostgreSQL), no more than MAX_CHARACTERS."""
    # A lone surrogate (undecodable bytes the email package kept) cannot be stored either.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text if len(text) <= MAX_CHARACTERS else text[:MAX_CHARACTERS] + CUT


def new_words(text: str) -> str:
    """What the respondent wrote above the quoted history: the part before the first
    attribution line ("Op … schreef …:", "On … wrote:", Outlook's "Van:/Verzonden:" block),
    without a trailing block of "> " lines. Their signature stays: it is their words too."""
    text = clean_text(text)
    held: dict[str, str] = {}
    shown = []
    for number, line in enumerate(text[:MAX_PARSED].split("\n")):
        if len(line) > MAX_PARSED_LINE:
            key = f"\ue000{secrets.token_hex(4)}-{number}\ue001"
            held[key] = line
            line = key
        shown.append(line)
    replies = _Reply(text="\n".join(shown), languages=list(LANGUAGES)).read().replies
    if len(replies) > 1 or (replies and replies[0].headers):
        # A message that starts with an attribution holds no words of its own.
        words = replies[0].content if not replies[0].headers else ""
        for key, line in held.items():
            words = words.replace(key, line)
    else:
        words = text
    lines = words.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].startswith(">")):
        lines.pop()  # a quote below the answer, without an attribution line
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in lines)).strip()


# HTML: what the team may see of a respondent's HTML email. No images (a remote one tells the
# sender who opened it, and when), links only to the web, mail and phone.
_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
_SCHEMES = {"http", "https", "mailto", "tel"}
# The quoted history as mail programs mark it in HTML: an element left out with its content,
# or a marker after which everything is history (Outlook).
_QUOTE_CLASSES = {"gmail_quote", "gmail_extra", "yahoo_quoted", "moz-cite-prefix",
                  "protonmail_quote"}
_HISTORY_IDS = {"divrplyfwdmsg", "appendonsend", "stopspelling",
                "mail-editor-reference-message-container"}
_UNSEEN = {"script", "style", "head", "title"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _WithoutHistory(HTMLParser):
    """The HTML again, without the elements that hold quoted history."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: str | None = None  # the tag whose content is left out
        self.depth = 0
        self.ended = False  # Outlook's marker: the rest is history

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.ended:
            return
        if self.skipping is not None:
            if tag == self.skipping:
                self.depth += 1
            return
        found = dict(attrs)
        classes = set((found.get("class") or "").lower().split())
        if (found.get("id") or "").lower() in _HISTORY_IDS:
            self.ended = True
        elif tag in _UNSEEN or tag == "blockquote" or classes & _QUOTE_CLASSES:
            if tag not in _VOID:
                self.skipping, self.depth = tag, 1
        else:
            self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.ended and self.skipping is None:
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self.ended:
            return
        if self.skipping is not None:
            if tag == self.skipping:
                self.depth -= 1
                if self.depth == 0:
                    self.skipping = None
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.ended and self.skipping is None:
            self.out.append(html.escape(data, quote=False))


def sanitised_html(markup: str) -> str:
    """The HTML without its quoted history, made safe to show: no scripts, styles, event
    handlers, images or javascript: links."""
    reader = _WithoutHistory()
    reader.feed(clean_text(markup))
    reader.close()
    return nh3.clean("".join(reader.out), tags=_TAGS, url_schemes=_SCHEMES,
                     clean_content_tags={"script", "style"},
                     link_rel="noopener noreferrer nofollow").strip()


_BLOCKS = {"p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
           "blockquote", "pre", "hr", "ul", "ol"}


class _Text(HTMLParser):
    """The words of an HTML body, a line break where a block ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.unseen = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _UNSEEN:
            self.unseen += 1
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _UNSEEN:
            self.unseen = max(0, self.unseen - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.unseen:
            self.out.append(re.sub(r"\s+", " ", data))


def text_of_html(markup: str) -> str:
    """Plain text from (sanitised) HTML, for an email that has no text part."""
    reader = _Text()
    reader.feed(markup)
    reader.close()
    lines = (line.strip() for line in "".join(reader.out).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
