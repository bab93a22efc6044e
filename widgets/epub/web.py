"""The sample as a web page to read at once: ``/books/<book>/read``.

The same content as the EPUB (title and credits, the review quotes, the blurb,
the sample chapter, "Get the book" with the live prices), laid out for a phone
first, with the site's shell. Buy links carry ``src=read``. The chapter is the
EPUB's own sanitized XHTML, serialized again as HTML; its images are inlined as
``data:`` URLs (the site's CSP allows them), so the page needs no image route.
"""

from __future__ import annotations

import base64
from datetime import datetime

from lxml import html as lxml_html
from markupsafe import Markup

from storefront.catalog import Book, Catalog
from storefront.presentation import present_book
from storefront.templating import render
from storefront.urls import Urls

from ..markdown import Chapter
from .metadata import imprint
from .sources import SampleError, load_chapter

PLACEMENT = "read"


def chapter_html(chapter: Chapter) -> Markup:
    """The chapter's body as HTML, its images inlined (``data:`` URLs)."""
    container = lxml_html.fragment_fromstring(str(chapter.body) or "<p></p>", create_parent="div")
    images = {image.name: image for image in chapter.images}
    for img in container.iter("img"):
        image = images.get(img.get("src", ""))
        if image is None:
            continue
        try:
            data = image.source.read_bytes()
        except OSError as exc:
            raise SampleError(f"image '{image.source}': {exc.strerror or exc}") from None
        img.set("src", f"data:{image.media_type};base64,{base64.b64encode(data).decode()}")
    parts = [lxml_html.tostring(child, encoding="unicode", method="html") for child in container]
    text = (container.text or "").strip()
    # Safe: the chapter was sanitized by nh3 (widgets.markdown) and re-serialized by lxml,
    # which escapes every text node and attribute value.
    return Markup(("<p>" + Markup.escape(text) + "</p>" if text else "") + "".join(parts))


def read_json_ld(book: Book, urls: Urls, view_ld: dict) -> dict:
    """A ``WebPage`` (this reading page) about the ``Book`` of the book page, in one graph."""
    page = urls.read(book.slug, absolute=True)
    book_node = dict(view_ld)
    book_node.pop("@context", None)
    return {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "WebPage",
                "@id": page,
                "url": page,
                "name": f"Read a sample of {book.full_title}",
                "inLanguage": book.language,
                "isAccessibleForFree": True,
                "about": {"@id": book_node["@id"]},
                "mainEntity": {"@id": book_node["@id"]},
            },
            book_node,
        ],
    }


def render_read_page(catalog: Catalog, book: Book, at: datetime, urls: Urls) -> str:
    """Render the reading page of ``book`` with prices at ``at`` (raises :class:`SampleError`)."""
    view = present_book(catalog, book, at, urls, src=PLACEMENT)
    chapter = load_chapter(catalog, book)
    facts = imprint(catalog, book, at)
    return render(
        "books/read.html",
        view=view,
        site=catalog.site,
        urls=urls,
        book=book,
        credits=view.credits.lines,
        chapter=chapter,
        chapter_body=chapter_html(chapter) if chapter else None,
        facts=facts,
        json_ld=read_json_ld(book, urls, view.json_ld()),
        placement=PLACEMENT,
    )
