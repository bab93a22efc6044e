"""The sample chapter: Markdown in, sanitized well-formed XHTML out, errors naming the file."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from lxml import etree

from storefront.catalog import CatalogError, load_catalog
from widgets.markdown import DEFAULT_TITLE, ChapterError, render_chapter

from .conftest import MINIMAL_CATALOG

PNG = Path(__file__).resolve().parent / "data" / "epub" / "images" / "earthrise.png"


@pytest.fixture
def chapter_file(tmp_path):
    """Write a chapter (and a PNG at images/fig.png) in a catalog folder; return its path."""
    (tmp_path / "images").mkdir()
    shutil.copy(PNG, tmp_path / "images" / "fig.png")

    def write(text: str | bytes, name: str = "chapter.md") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def body_soup(chapter) -> BeautifulSoup:
    # The body must be well-formed XML on its own, inside an XHTML element.
    etree.fromstring(f'<div xmlns="http://www.w3.org/1999/xhtml">{chapter.body}</div>')
    return BeautifulSoup(str(chapter.body), "html.parser")


@pytest.mark.parametrize(
    "source, title, headings",
    [
        ("# The title\n\n## Part\n\n### Sub\n\nText.", "The title", ["h2:Part", "h3:Sub"]),
        ("## Starts at two\n\n#### Skips a level\n\nText.", "Starts at two", ["h2:Skips a level"]),
        ("Text first.\n\n# Heading\n\n## Below", DEFAULT_TITLE, ["h2:Heading", "h3:Below"]),
        ("Setext title\n============\n\nText.", "Setext title", []),
        ("# *Emphasised* title\n\nText.", "Emphasised title", []),
    ],
)
def test_leading_heading_becomes_the_title_and_the_rest_start_at_h2(
    chapter_file, source, title, headings
):
    chapter = render_chapter(chapter_file(source))
    assert chapter.title == title
    soup = body_soup(chapter)
    found = [
        f"{h.name}:{h.get_text()}" for h in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])
    ]
    assert found == headings


@pytest.mark.parametrize(
    "source, selector, texts",
    [
        ("*em* and **strong** and _also_", "em", ["em", "also"]),
        ("*em* and **strong**", "strong", ["strong"]),
        ("- one\n- two\n- three", "ul > li", ["one", "two", "three"]),
        ("3. three\n4. four", "ol > li", ["three", "four"]),
        ("> quoted\n> text\n\n> second", "blockquote p", ["quoted\ntext", "second"]),
        ("`code` here", "code", ["code"]),
        ("~~gone~~", "s", ["gone"]),
        ("| a | b |\n|---|--:|\n| 1 | 2 |", "td", ["1", "2"]),
        ("Tom &amp; Jerry < 3 & more", "p", ["Tom & Jerry < 3 & more"]),
        ("Emoji 🚀 and עברית", "p", ["Emoji 🚀 and עברית"]),
    ],
)
def test_markdown_structure_is_kept(chapter_file, source, selector, texts):
    soup = body_soup(render_chapter(chapter_file("# T\n\n" + source)))
    assert [el.get_text() for el in soup.select(selector)] == texts


def test_ordered_list_keeps_its_start(chapter_file):
    soup = body_soup(render_chapter(chapter_file("# T\n\n3. three\n4. four")))
    assert soup.ol["start"] == "3"


@pytest.mark.parametrize(
    "raw, gone",
    [
        ("<script>alert('x')</script>", "alert"),
        ('<p onclick="steal()">click</p>', "steal"),
        ('<p style="background:url(https://evil.example)">styled</p>', "evil.example"),
        ("<style>body { display: none }</style>", "display"),
        ('<iframe src="https://evil.example/"></iframe>', "evil.example"),
        ('<img src="x.png" onerror="steal()">', "steal"),
        ('<a href="javascript:steal()">js</a>', "javascript"),
        ('<a href="data:text/html,<script>x</script>">data</a>', "data:"),
        ('<object data="https://evil.example/x.swf"></object>', "evil.example"),
        ('<form action="https://evil.example/"><input name="q"></form>', "evil.example"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
        ('<p id="buy">duplicate ids</p>', 'id="buy"'),
    ],
)
def test_raw_html_is_sanitized(chapter_file, raw, gone):
    source = f"# T\n\nBefore.\n\n{raw}\n\nAfter.\n"
    if "<img" in raw:
        source = source.replace("x.png", "images/fig.png")
    chapter = render_chapter(chapter_file(source))
    body = str(chapter.body)
    assert gone not in body
    soup = body_soup(chapter)
    assert soup.find(["script", "style", "iframe", "object", "form", "input", "svg"]) is None
    assert [p.get_text() for p in soup.find_all("p")][0] == "Before."
    assert "After." in soup.get_text()


def test_dropped_raw_html_is_logged_once_with_the_file_and_line(chapter_file, caplog):
    path = chapter_file("# T\n\nText.\n\n<script>x()</script>\n\n<iframe></iframe>\n")
    with caplog.at_level(logging.WARNING, logger="widgets.markdown"):
        render_chapter(path)
    (record,) = caplog.records
    assert record.getMessage() == (
        "chapter.md:5: raw HTML <iframe>, <script> is not allowed in a sample chapter "
        "and was removed"
    )


@pytest.mark.parametrize(
    "markdown, href",
    [
        ("[web](https://example.org/a?b=1&c=2)", "https://example.org/a?b=1&c=2"),
        ("[mail](mailto:author@example.org)", "mailto:author@example.org"),
        ("[relative](notes.md)", None),
        ("[fragment](#section)", None),
        ("[js](javascript:alert(1))", None),
    ],
)
def test_links_go_to_the_web_or_nowhere(chapter_file, markdown, href):
    soup = body_soup(render_chapter(chapter_file(f"# T\n\n{markdown}")))
    # markdown-it leaves a javascript: link as plain text; nh3 and lxml catch the rest.
    assert (soup.a.get("href") if soup.a else None) == href


def test_images_are_shipped_under_safe_names(chapter_file):
    path = chapter_file(
        "# T\n\n![First](images/fig.png)\n\n![Again](images/fig.png)\n\n"
        "![](./images/../images/fig.png)"
    )
    chapter = render_chapter(path)
    (image,) = chapter.images
    assert image.source == (path.parent / "images" / "fig.png").resolve()
    assert (image.name, image.media_type) == ("images/chapter-1.png", "image/png")
    soup = body_soup(chapter)
    assert [(i["src"], i["alt"]) for i in soup.find_all("img")] == [
        ("images/chapter-1.png", "First"),
        ("images/chapter-1.png", "Again"),
        ("images/chapter-1.png", ""),
    ]


def test_image_in_a_subfolder_chapter_resolves_from_the_chapter(chapter_file, tmp_path):
    path = chapter_file("# T\n\n![Fig](../images/fig.png)", name="samples/one.md")
    chapter = render_chapter(path, root=tmp_path)
    assert chapter.images[0].source == (tmp_path / "images" / "fig.png").resolve()


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("![x](https://cdn.example/x.png)", "image 'https://cdn.example/x.png' is remote"),
        ("![x](//cdn.example/x.png)", "is remote"),
        ("![x](/etc/x.png)", "must be a relative path"),
        ("![x](../outside.png)", "is outside the catalog folder"),
        ("![x](images/missing.png)", "image 'images/missing.png' not found"),
        ("![x](images/fig.svg)", "must be one of: .gif, .jpeg, .jpg, .png"),
        ("<img alt='no source'>", "an image has no source"),
    ],
)
def test_bad_images_are_refused_naming_the_file(chapter_file, tmp_path, markdown, message):
    (tmp_path / "images" / "fig.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    path = chapter_file(f"# T\n\n{markdown}", name="book/chapter.md")
    with pytest.raises(ChapterError, match=r"^chapter\.md: ") as info:
        render_chapter(path, root=tmp_path / "book")
    assert message in str(info.value)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "chapter.md: the sample chapter is empty"),
        ("  \n\t\n", "chapter.md: the sample chapter is empty"),
        ("\x01\x02\n", "chapter.md: the sample chapter is empty"),
        (b"\xff\xfe# Latin-1 \xe9", "chapter.md: the sample chapter is not UTF-8 text"),
        ("# Only a title\n", "chapter.md: the sample chapter has no text besides its title"),
    ],
)
def test_unusable_chapter_file_is_a_clear_error(chapter_file, content, message):
    with pytest.raises(ChapterError) as info:
        render_chapter(chapter_file(content))
    assert str(info.value) == message


def test_missing_chapter_file_is_a_clear_error(tmp_path):
    with pytest.raises(ChapterError, match=r"^gone\.md: sample chapter file not found$"):
        render_chapter(tmp_path / "gone.md")


def test_characters_xml_forbids_are_removed(chapter_file):
    chapter = render_chapter(chapter_file("\ufeff# T\n\nBell\x07 and form\x0cfeed \ufffe."))
    assert body_soup(chapter).p.get_text() == "Bell and formfeed ."


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "books[0].sample_chapter: file 'chapter.md' is empty"),
        (" \n\n ", "books[0].sample_chapter: file 'chapter.md' is empty"),
        (b"\xe9t\xe9", "books[0].sample_chapter: file 'chapter.md' is not UTF-8 text"),
    ],
)
def test_catalog_refuses_an_empty_or_binary_sample_chapter(
    write_catalog, tmp_path, content, message
):
    chapter = tmp_path / "chapter.md"
    if isinstance(content, bytes):
        chapter.write_bytes(content)
    else:
        chapter.write_text(content, encoding="utf-8")
    path = write_catalog(
        MINIMAL_CATALOG.replace(
            'description = "A book', 'sample_chapter = "chapter.md"\ndescription = "A book'
        )
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    (problem,) = info.value.problems
    line = path.read_text().splitlines().index('sample_chapter = "chapter.md"') + 1
    assert str(problem) == f"catalog.toml:{line}: {message}"
