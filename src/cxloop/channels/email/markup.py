"""HTML from mail: sanitised for display, and turned into plain text when a sender sends HTML only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "abbr": {"title"},
}
MAX_HTML_DEPTH = 400  # real mail (Outlook's nested tables included) stays far below
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
# Void elements, and those whose end tag is optional and which the parser closes itself (they cannot nest).
_NO_NESTING = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot", "colgroup", "rp", "rt",
}  # fmt: skip
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
# Only pictures that travel inside the message: a remote image tells the sender when and where mail is read.
_INLINE_IMAGE = re.compile(r"^(cid:\S+|data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+)$", re.IGNORECASE)


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        return value if _INLINE_IMAGE.match(value.strip()) else None
    if element == "a" and attribute == "href":
        return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
    return value


def nesting_depth(html: str) -> int:
    """How deep the elements nest, roughly: html5ever's tree building is quadratic in it, so hostile mail nests deep."""
    depth = deepest = 0
    for match in _TAG.finditer(html):
        name = match.group(2).lower()
        if name in _NO_NESTING:
            continue
        depth = max(0, depth - 1) if match.group(1) else depth + 1
        deepest = max(deepest, depth)
    return deepest


def sanitize_html(html: str) -> str:
    """HTML safe to show in the staff UI: formatting and links kept; scripts, styles, handlers, remote images gone.

    Empty when the HTML nests deeper than MAX_HTML_DEPTH: the text version is shown instead.
    """
    if not html.strip() or nesting_depth(html) > MAX_HTML_DEPTH:
        return ""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title", "template", "noscript", "xml"},
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_keep_attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    ).strip()


_BLOCKS = {
    "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "fieldset", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
    "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul",
}  # fmt: skip
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr"}
_MAX_QUOTE_DEPTH = 10  # hostile HTML nests thousands of blockquotes; the text must not grow with the square
_SKIPPED = {"script", "style", "head", "title", "template", "noscript", "xml"}


class _TextBuilder(HTMLParser):
    """Lines of text as a mail client would show them; blockquotes become "> " lines so quotes can be found."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._depth = 0
        self._line_depth = 0
        self._skip = 0
        self._pre = 0
        self._href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
        elif tag == "br":
            self._flush(force=True)
        elif tag in _BLOCKS:
            self._flush()
            if tag in _PARAGRAPHS and self.lines and self.lines[-1].strip("> "):
                self.lines.append(self._prefix(self._depth))
            self._depth += tag == "blockquote"
            self._pre += tag == "pre"
            if tag == "li":
                self._current.append("- ")
        elif tag == "a":
            self._href.append(dict(attrs).get("href") or "")
        elif tag == "td" or tag == "th":
            self._current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self._flush()
            if tag == "blockquote":
                self._depth = max(0, self._depth - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            if tag in _PARAGRAPHS:
                self.lines.append(self._prefix(self._depth))
        elif tag == "a" and self._href:
            self._link_target(self._href.pop())

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not self._current:
            self._line_depth = self._depth
        if self._pre:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._flush(force=True)
                self._current.append(part)
        else:
            self._current.append(re.sub(r"\s+", " ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _link_target(self, href: str) -> None:
        shown = "".join(self._current).strip()
        if href.lower().startswith(("http://", "https://")) and href not in shown:
            self._current.append(f" ({href})")

    def _flush(self, *, force: bool = False) -> None:
        text = "".join(self._current)
        text = text.rstrip() if self._pre else text.strip()
        if text or force:
            self.lines.append(self._prefix(self._line_depth if text else self._depth) + text)
        self._current = []
        self._line_depth = self._depth

    @staticmethod
    def _prefix(depth: int) -> str:
        return "> " * min(depth, _MAX_QUOTE_DEPTH)


def html_to_text(html: str) -> str:
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    return tidy_lines(builder.lines)


def tidy_lines(lines: list[str]) -> str:
    """Trailing spaces off, at most one blank line in a row, no blank lines at either end."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line.strip("> ") and out and not out[-1].strip("> "):
            continue
        out.append(line)
    return "\n".join(out).strip("\n").strip()
