"""What a sample is built from: the catalog, the cover, the chapter and its images.

The first step of a build (as Sphinx's EPUB builder first collects its documents):
read and check the sources, and date them, before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from storefront.catalog import Book, Catalog
from storefront.pricing import price_window

from ..cover import CoverImage
from ..markdown import Chapter, ChapterError, render_chapter

ZIP_EPOCH = datetime(1980, 1, 1, tzinfo=UTC)  # the earliest time a zip entry can carry


class SampleError(ValueError):
    """The sample cannot be built from the catalog's files; the message names the file."""


def load_chapter(catalog: Catalog, book: Book) -> Chapter | None:
    """Render the book's sample chapter, or raise :class:`SampleError` naming the file."""
    if book.sample_chapter is None:
        return None
    try:
        return render_chapter(book.sample_chapter, root=catalog.path.parent)
    except ChapterError as exc:
        raise SampleError(str(exc)) from exc


def source_files(catalog: Catalog, book: Book, chapter: Chapter | None = None) -> list[Path]:
    """Every file the sample is built from (the catalog, cover, chapter, its images)."""
    files = [catalog.path]
    if book.cover is not None:
        files.append(book.cover)
    if book.sample_chapter is not None:
        files.append(book.sample_chapter)
    if chapter is not None:
        files.extend(image.source for image in chapter.images)
    return files


def sources_stamp(catalog: Catalog, book: Book) -> tuple:
    """A cheap cache key part that changes when the cover or chapter file changes."""
    stamp = []
    for path in source_files(catalog, book)[1:]:
        try:
            st = path.stat()
            stamp.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append((str(path), None, None))
    return tuple(stamp)


def default_modified(
    catalog: Catalog, book: Book, chapter: Chapter | None, at: datetime
) -> datetime:
    """When the content last changed: the newest source file or the last price change."""
    times = [ZIP_EPOCH]
    for path in source_files(catalog, book, chapter):
        try:
            times.append(datetime.fromtimestamp(path.stat().st_mtime, UTC))
        except OSError:
            continue
    start = price_window(catalog, at)[0]
    if start is not None:
        times.append(start.astimezone(UTC))
    return max(times).replace(microsecond=0)


def check_cover(cover: CoverImage, book: Book) -> None:
    """Refuse a catalog SVG cover that scripts or fetches: an EPUB may do neither."""
    if cover.media_type != "image/svg+xml" or book.cover is None:
        return
    name = book.cover.name
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(cover.data, parser)
    except etree.XMLSyntaxError as exc:
        raise SampleError(f"cover '{name}' is not well-formed SVG: {exc}") from None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if local in ("script", "foreignObject"):
            raise SampleError(f"cover '{name}' contains <{local}>, which an EPUB may not run")
        for attr, value in el.attrib.items():
            attr_local = etree.QName(attr).localname
            if attr_local.lower().startswith("on"):
                raise SampleError(f"cover '{name}' has an event handler ({attr_local})")
            if attr_local == "href" and not value.startswith(("#", "data:")):
                raise SampleError(
                    f"cover '{name}' refers to '{value}': an EPUB ships every resource"
                )
