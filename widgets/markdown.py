"""The sample chapter: the author's Markdown as sanitized XHTML for the EPUB sample.

The chapter file is catalog input, so it is untrusted like every catalog text:
Markdown goes through markdown-it-py, raw HTML in it through nh3 with a short
allow-list (scripts and styles are dropped with their content, event handlers
and other attributes removed), and the result is re-serialized as XML by lxml,
so it is always well-formed XHTML. Images must be files shipped next to the
catalog; they are renamed to safe names inside the EPUB. Links other than
http(s) and mailto are unlinked (an EPUB has no page to send them to).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nh3
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from markupsafe import Markup

logger = logging.getLogger(__name__)

# Core media types every EPUB reading system supports. SVG is left out on
# purpose: an SVG is a document that can carry scripts and remote references.
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"dir"},
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "td": {"style", "colspan", "rowspan"},
    "th": {"style", "colspan", "rowspan"},
}
LINK_SCHEMES = {"http", "https", "mailto"}
DEFAULT_TITLE = "Sample chapter"

# Characters XML 1.0 forbids (C0 controls other than tab/newline/CR, and the two non-characters).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAG_NAME = re.compile(r"<\s*([A-Za-z][A-Za-z0-9-]*)")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


class ChapterError(ValueError):
    """The sample chapter cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class ChapterImage:
    """An image of the chapter: the file next to the catalog and its name inside the EPUB."""

    source: Path
    name: str  # e.g. "images/chapter-1.png", relative to the chapter page
    media_type: str


@dataclass(frozen=True)
class Chapter:
    """The chapter, ready for the EPUB: its title, XHTML body and images."""

    path: Path
    title: str
    body: Markup  # XHTML fragment: sanitized and serialized by lxml (see render_chapter)
    images: tuple[ChapterImage, ...]


def _markdown() -> MarkdownIt:
    # CommonMark plus tables and ~~strike~~; raw HTML is parsed here and cleaned by nh3 below.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def read_chapter_text(path: Path, label: str | None = None) -> str:
    """Read the chapter file as text, or raise :class:`ChapterError` naming it."""
    label = label or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChapterError(f"{label}: sample chapter file not found") from None
    except UnicodeDecodeError:
        raise ChapterError(f"{label}: the sample chapter is not UTF-8 text") from None
    except OSError as exc:
        raise ChapterError(f"{label}: {exc.strerror or exc}") from None
    text = _NOT_XML.sub("", text.lstrip("\ufeff"))
    if not text.strip():
        raise ChapterError(f"{label}: the sample chapter is empty")
    return text


def render_chapter(path: Path, root: Path | None = None) -> Chapter:
    """Turn the Markdown file at ``path`` into a :class:`Chapter`.

    ``root`` is the folder images must stay inside (the catalog's folder; by
    default the chapter's own). A leading heading becomes the chapter title and
    the remaining headings are shifted to start at ``h2`` under it. Raises
    :class:`ChapterError` for a missing, empty or non-UTF-8 file and for images
    that are remote, missing, outside ``root`` or of an unsupported type.
    """
    path = Path(path)
    root = (root or path.parent).resolve()
    label = _label(path, root)
    text = read_chapter_text(path, label)
    md = _markdown()
    tokens = md.parse(text)
    _warn_about_raw_html(tokens, label)
    html = md.renderer.render(tokens, md.options, {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel=None,
        strip_comments=True,
    )
    container = lxml_html.fragment_fromstring(clean or "<p></p>", create_parent="div")
    title = _take_title(container)
    _shift_headings(container)
    _tidy_attributes(container)
    images = _collect_images(container, path, root, label)
    parts = []
    if container.text and container.text.strip():
        parts.append(_escape(container.text))
    for child in container:
        # Serialized as XML by lxml: every text is escaped, every element closed.
        parts.append(etree.tostring(child, method="xml", encoding="unicode", with_tail=True))
    body = "".join(parts).strip()
    if not body:
        raise ChapterError(f"{label}: the sample chapter has no text besides its title")
    # Safe: built only from nh3's allow-listed output, re-serialized by lxml as XML.
    return Chapter(path=path, title=title or DEFAULT_TITLE, body=Markup(body), images=images)


def _label(path: Path, root: Path) -> str:
    """The chapter's name for messages: relative to the catalog folder when inside it."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _escape(text: str) -> str:
    return str(Markup.escape(text))


def _warn_about_raw_html(tokens, label: str) -> None:
    """Log, once per file, the raw HTML tags the sanitizer drops (scripts, iframes, ...)."""
    dropped: set[str] = set()
    first_line = 0
    for token in tokens:
        raw = [token] if token.type == "html_block" else []
        raw += [c for c in token.children or [] if c.type == "html_inline"]
        for item in raw:
            names = {n.lower() for n in _TAG_NAME.findall(item.content)} - ALLOWED_TAGS
            if names and not dropped and token.map:
                first_line = token.map[0] + 1
            dropped |= names
    if dropped:
        logger.warning(
            "%s:%s: raw HTML <%s> is not allowed in a sample chapter and was removed",
            label,
            first_line,
            ">, <".join(sorted(dropped)),
        )


def _take_title(container) -> str | None:
    """Remove a leading heading and return its text: it becomes the page's ``h1``."""
    first = next(iter(container), None)
    if (container.text or "").strip() or first is None or first.tag not in _HEADINGS:
        return None
    title = " ".join(first.text_content().split())
    if not title:
        return None
    tail = first.tail
    container.remove(first)
    if tail and tail.strip():
        container.text = (container.text or "") + tail
    return title


def _shift_headings(container) -> None:
    """Keep the author's heading structure but start it at ``h2``, under the page's ``h1``."""
    levels = [int(el.tag[1]) for el in container.iter(*_HEADINGS)]
    if not levels:
        return
    shift = 2 - min(levels)
    for el in list(container.iter(*_HEADINGS)):
        el.tag = f"h{min(6, int(el.tag[1]) + shift)}"


def _tidy_attributes(container) -> None:
    """Drop what an EPUB cannot use: unknown ``dir`` values and links to nowhere."""
    for el in container.iter():
        if not isinstance(el.tag, str):
            continue
        direction = el.get("dir")
        if direction is not None and direction.lower() not in ("ltr", "rtl", "auto"):
            del el.attrib["dir"]
        elif direction is not None:
            el.set("dir", direction.lower())
        if el.tag == "a" and "href" in el.attrib:
            scheme = urlsplit(el.get("href", "")).scheme.lower()
            if scheme not in LINK_SCHEMES:
                # A relative link or a fragment points at nothing inside the sample.
                del el.attrib["href"]
        for name in ("start", "colspan", "rowspan"):
            value = el.get(name)
            if value is not None and not value.strip().lstrip("-").isdigit():
                del el.attrib[name]


def _collect_images(container, path: Path, root: Path, label: str) -> tuple[ChapterImage, ...]:
    """Resolve every ``img`` to a file next to the catalog and rename it for the EPUB."""
    images: dict[Path, ChapterImage] = {}
    for img in container.iter("img"):
        src = img.get("src", "").strip()
        parts = urlsplit(src)
        if not src:
            raise ChapterError(f"{label}: an image has no source")
        if parts.scheme or parts.netloc:
            raise ChapterError(
                f"{label}: image '{src}' is remote: an EPUB sample ships its images, "
                "so put the file next to the catalog and use a relative path"
            )
        relative = unquote(parts.path)
        if relative.startswith("/"):
            raise ChapterError(f"{label}: image '{src}' must be a relative path")
        source = (path.parent / relative).resolve()
        if not source.is_relative_to(root):
            raise ChapterError(f"{label}: image '{src}' is outside the catalog folder {root}")
        media_type = IMAGE_TYPES.get(source.suffix.lower())
        if media_type is None:
            raise ChapterError(
                f"{label}: image '{src}' must be one of: {', '.join(sorted(IMAGE_TYPES))}"
            )
        if not source.is_file():
            raise ChapterError(f"{label}: image '{src}' not found (looked in {path.parent})")
        if source not in images:
            extension = ".jpg" if media_type == "image/jpeg" else source.suffix.lower()
            name = f"images/chapter-{len(images) + 1}{extension}"
            images[source] = ChapterImage(source, name, media_type)
        img.set("src", images[source].name)
        if img.get("alt") is None:
            img.set("alt", "")
    return tuple(images.values())
