"""The press kit as one ZIP: covers, photos, bios, facts, quotes, the sheets and a README.

Everything sits in one folder named after the kit (``genesis-press-kit/``):

* ``README.txt``: what each file is, the contact and the links;
* ``cover-<book>.jpg|png``: the high-resolution cover of each book;
* ``photo-<author>.jpg|png``: each author's photo, when the catalog names one;
* ``bio-<author>.md``: the short and the long bio, as Markdown;
* ``facts.md`` and ``facts.json``: each book's facts, blurb and buy links;
* ``quotes.md``: the review quotes with their sources;
* ``press-sheet-<book>.pdf``: the one-page sheet of each book.

The archive is reproducible: entries in a fixed order, each stamped with the
``created`` instant (``SOURCE_DATE_EPOCH`` when set), fixed permissions and
compression, so two builds of one catalog are the same bytes. Catalog text in
the Markdown files is escaped (:func:`md_escape`): a viewer renders it as the
words the author wrote, never as a link, an image or HTML.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime

from ..print.press import build_press_cover, build_press_sheet
from ..reproducible import source_date
from .kit import PressKit, photo_name

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones
# that can start markup inside a line (emphasis, links, images, HTML, code, tables).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!&])")
_EARLIEST_ZIP = datetime(1980, 1, 1, tzinfo=UTC)


def md_escape(text: str) -> str:
    """Catalog text as Markdown that shows exactly that text (one line per paragraph)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text)
    # A line that starts with a digit and a dot, a dash or a plus would become a list.
    return re.sub(r"(?m)^(\s*)(\d+)([.)])", r"\1\2\\\3", escaped).replace("\n-", "\n\\-")


def kit_files(kit: PressKit, *, size: str = "letter", created: datetime | None = None) -> dict:
    """``{file name: bytes}`` of the kit (names inside its folder), in the order they are zipped."""
    files: dict[str, bytes] = {}
    for entry in kit.books:
        data, _ = build_press_cover(kit.catalog, entry)
        files[entry.cover_name] = data
    for author in kit.authors:
        name = photo_name(author)
        if name is not None and author.photo is not None:
            files[name] = author.photo.read_bytes()
        files[f"bio-{author.slug}.md"] = bio_markdown(author).encode("utf-8")
    files["facts.md"] = facts_markdown(kit).encode("utf-8")
    files["facts.json"] = (
        json.dumps(facts_json(kit), indent=2, ensure_ascii=False) + "\n"
    ).encode()
    files["quotes.md"] = quotes_markdown(kit).encode("utf-8")
    for entry in kit.books:
        files[f"press-sheet-{entry.slug}.pdf"] = build_press_sheet(
            kit, entry.slug, size=size, created=created
        )
    files = {"README.txt": readme(kit, files).encode("utf-8"), **files}
    return files


def build_press_zip(
    kit: PressKit, *, size: str = "letter", created: datetime | None = None
) -> bytes:
    """The kit as ZIP bytes; the same catalog and ``created`` give the same bytes."""
    when = max(source_date(created), _EARLIEST_ZIP)
    stamp = when.timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in kit_files(kit, size=size, created=created).items():
            info = zipfile.ZipInfo(f"{kit.name}/{name}", date_time=stamp)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix: the permissions above are read as such
            # Images and PDFs are compressed already: store them as they are.
            info.compress_type = (
                zipfile.ZIP_DEFLATED
                if name.endswith((".txt", ".md", ".json"))
                else zipfile.ZIP_STORED
            )
            archive.writestr(info, data)
    return out.getvalue()


def bio_markdown(author) -> str:
    lines = [f"# {md_escape(author.name)}", ""]
    if author.bio:
        lines += ["## Short bio", "", md_escape(author.bio), ""]
    if author.long_bio:
        lines += ["## Long bio", "", md_escape(author.long_bio), ""]
    if not author.bio and not author.long_bio:
        lines += ["No biography yet.", ""]
    if author.links:
        lines += ["## Links", "", *(f"- <{link}>" for link in author.links), ""]
    return "\n".join(lines)


def facts_markdown(kit: PressKit) -> str:
    lines = [f"# {md_escape(kit.title)}", ""]
    for entry in kit.books:
        book = entry.book
        lines += [f"## {md_escape(book.full_title)}", ""]
        lines += [f"- **{md_escape(f.label)}:** {md_escape(f.value)}" for f in entry.facts]
        lines += ["", "### About the book", "", md_escape(book.description), ""]
        lines += [
            "### Where to buy",
            "",
            f"Every store, in the reader's country: <{entry.link}>",
            "",
        ]
        for fmt in entry.view.formats:
            for o in fmt.offers:
                href = kit.urls.absolute(o.href)
                lines.append(f"- {md_escape(o.label)}: <{href}>")
        lines.append("")
    return "\n".join(lines)


def facts_json(kit: PressKit) -> dict:
    return {
        "title": kit.title,
        "page": kit.page_url,
        "books": [
            {
                "slug": entry.slug,
                "title": entry.book.full_title,
                "description": entry.book.description,
                "facts": {f.label: f.value for f in entry.facts},
                "link": entry.link,
                "buy": [
                    {"label": o.label, "url": kit.urls.absolute(o.href)}
                    for fmt in entry.view.formats
                    for o in fmt.offers
                ],
            }
            for entry in kit.books
        ],
        "authors": [
            {
                "name": a.name,
                "bio": a.bio,
                "long_bio": a.long_bio,
                "photo": photo_name(a),
                "press_email": a.press_email,
                "press_url": a.press_url,
            }
            for a in kit.authors
        ],
    }


def quotes_markdown(kit: PressKit) -> str:
    lines = ["# Review quotes", ""]
    for entry in kit.books:
        lines += [f"## {md_escape(entry.book.full_title)}", ""]
        if not entry.book.quotes:
            lines += ["No review quotes yet.", ""]
        for q in entry.book.quotes:
            lines += [f"> {md_escape(q.text)}", ">", f"> — {md_escape(q.source)}", ""]
            if q.url:
                lines += [f"Source: <{q.url}>", ""]
    return "\n".join(lines)


def readme(kit: PressKit, files: dict[str, bytes]) -> str:
    """The kit's README.txt: what each file is, the contact and the links (plain text)."""
    site = kit.catalog.site
    what = {
        "facts.md": "each book's facts (ISBNs, formats, pages or length, publisher, date), "
        "blurb and buy links (Markdown)",
        "facts.json": "the same facts, for software",
        "quotes.md": "the review quotes with their sources (Markdown)",
    }
    for entry in kit.books:
        what[entry.cover_name] = f"the cover of {entry.book.full_title}, high resolution"
        what[f"press-sheet-{entry.slug}.pdf"] = (
            f"the one-page press sheet of {entry.book.full_title} (PDF)"
        )
    for a in kit.authors:
        name = photo_name(a)
        if name:
            what[name] = f"a photo of {a.name}"
        what[f"bio-{a.slug}.md"] = f"the short and long bios of {a.name} (Markdown)"
    width = max(len(n) for n in files) + 2
    lines = [kit.title, "=" * len(kit.title), "", f"{site.title}: {kit.page_url}", ""]
    lines += [
        "Everything in this kit may be quoted and reproduced to write about or present",
        f"{'the book' if kit.book else 'the books'}.",
        "",
        "Files",
        "-----",
    ]
    lines.append(f"{'README.txt'.ljust(width)}this file")
    lines += [f"{name.ljust(width)}{what.get(name, '')}".rstrip() for name in files]
    lines += ["", "Links for readers (every store, in the reader's country)", "-" * 55]
    lines += [f"{entry.book.full_title}: {entry.link}" for entry in kit.books]
    lines += ["", "Press contact", "-------------"]
    if kit.contacts:
        for author, email, url in kit.contacts:
            found = " / ".join(x for x in (email, url) if x)
            lines.append(f"{author.name}: {found}")
    else:
        lines.append(f"See {kit.page_url}")
    return "\n".join(lines) + "\n"
