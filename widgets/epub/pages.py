"""The sample's pages: which there are, in which order, and their XHTML.

The fourth step of a build (Sphinx's spine, guide and TOC): every page is XHTML
rendered from ``templates/epub/`` by the shared autoescaping Jinja environment,
checked to be well-formed, and added to the spine in reading order, the cover
first and linear. Each page's heading has an id (Kindle's converters split and
link by ids), and every link of the book names a file or a URL that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ebooklib import epub
from lxml import etree

from storefront.templating import render

from ..markdown import Chapter

XHTML = "application/xhtml+xml"
# Characters XML 1.0 forbids: removed from every page, whatever the catalog holds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Page:
    """One content document: its manifest id (an XML name), file, title and landmark."""

    uid: str
    file_name: str
    title: str
    landmark: str | None = None

    @property
    def template(self) -> str:
        return f"epub/{self.uid}.xhtml"

    @property
    def anchor(self) -> str:
        """The id of the page's heading (the cover's image), for links into the page."""
        return f"{self.uid}-start"


def plan_pages(has_quotes: bool, chapter: Chapter | None) -> list[Page]:
    """The pages in reading order: cover, title, reviews, about, chapter, where to buy."""
    pages = [
        Page("cover", "cover.xhtml", "Cover", "cover"),
        Page("title", "title.xhtml", "Title page", "titlepage"),
    ]
    if has_quotes:
        pages.append(Page("reviews", "reviews.xhtml", "What readers say", "bodymatter"))
    landmark = None if has_quotes else "bodymatter"
    pages.append(Page("about", "about.xhtml", "About the book", landmark))
    if chapter is not None:
        pages.append(Page("chapter", "chapter.xhtml", chapter.title))
    pages.append(Page("buy", "buy.xhtml", "Get the book", "backmatter"))
    return pages


def page_bytes(page: Page, context: dict) -> bytes:
    text = _NOT_XML.sub("", render(page.template, page=page, **context))
    data = text.encode("utf-8")
    try:
        etree.fromstring(data)  # a page that is not well-formed XML must never ship
    except etree.XMLSyntaxError as exc:  # pragma: no cover - a template bug
        raise RuntimeError(f"EPUB page {page.file_name} is not well-formed: {exc}") from exc
    return data


def add_pages(ebook: epub.EpubBook, pages: list[Page], context: dict) -> None:
    """Render ``pages``, add them with the nav and NCX, and set the spine, TOC and guide."""
    items = []
    for page in pages:
        content = page_bytes(page, context)
        item = epub.EpubItem(
            uid=page.uid, file_name=page.file_name, media_type=XHTML, content=content
        )
        ebook.add_item(item)
        items.append(item)
    nav = epub.EpubNav(title="Contents")
    nav.add_item(ebook.get_item_with_id("style"))
    ebook.add_item(nav)
    ebook.add_item(epub.EpubNcx())
    ebook.toc = [epub.Link(p.file_name, p.title, f"toc-{p.uid}") for p in pages]
    ebook.spine = items  # the cover first and linear; the nav is not a reading page
    ebook.guide = [
        {"href": p.file_name, "title": p.title, "type": p.landmark} for p in pages if p.landmark
    ]
