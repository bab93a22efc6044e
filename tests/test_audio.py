"""The audiobook: narrator and length, the sample file (checked, served with ranges), JSON-LD.

The sample is real audio, spoken by espeak-ng and encoded by sox (MP3 through LAME, Ogg
Vorbis), made once per session next to a copy of ``tests/data/audio/catalog.toml``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import extruct
import mutagen
import pytest
from bs4 import BeautifulSoup

from storefront.catalog import CatalogError, load_catalog
from storefront.cli import main
from storefront.links import destination
from storefront.presentation import format_duration

from .conftest import require_executable

DATA = Path(__file__).parent / "data" / "audio"
SPOKEN = "Voyage. Chapter one. The ship left at dawn, and the sea was calm."
BASE = "https://books.example.org"


def make_audio(folder: Path) -> dict[str, Path]:
    """Speak :data:`SPOKEN` into ``folder``: ``sample.wav``, ``sample.mp3``, ``sample.ogg``."""
    espeak = require_executable("espeak-ng")
    sox = require_executable("sox")
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / "sample.wav"
    subprocess.run([espeak, "-w", str(wav), SPOKEN], check=True, capture_output=True)
    out = {"wav": wav}
    for ext in ("mp3", "ogg"):
        out[ext] = folder / f"sample.{ext}"
        done = subprocess.run([sox, str(wav), str(out[ext])], capture_output=True, text=True)
        if done.returncode != 0:  # sox without libsox-fmt-mp3 cannot write MP3
            from .conftest import require

            require(False, f"sox cannot write {ext}: {done.stderr.strip()}")
    return out


@pytest.fixture(scope="session")
def spoken(tmp_path_factory) -> dict[str, Path]:
    return make_audio(tmp_path_factory.mktemp("spoken"))


@pytest.fixture
def audio_catalog(tmp_path, spoken) -> Path:
    """The test catalog with its sample (MP3) beside it, in a folder of this test's own."""
    folder = tmp_path / "store"
    (folder / "samples").mkdir(parents=True)
    shutil.copy(spoken["mp3"], folder / "samples" / "sample.mp3")
    path = folder / "catalog.toml"
    shutil.copy(DATA / "catalog.toml", path)
    return path


@pytest.fixture
def audio_client(make_app, audio_catalog):
    return make_app(CATALOG=str(audio_catalog)).test_client()


def fetch(client, url: str, **kwargs):
    """GET ``url`` and read the whole answer; the file it streams from is closed."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# ------------------------------------------------------------------ the catalog and check


def test_catalog_reads_the_sample_length_with_mutagen(audio_catalog, spoken):
    catalog = load_catalog(audio_catalog)
    sample = catalog.book("voyage").edition("audiobook").audio_sample
    assert sample.media_type == "audio/mpeg" and sample.extension == "mp3"
    # sox's own reading of the same file agrees with mutagen's to a frame or two.
    soxi = subprocess.run(
        [require_executable("soxi"), "-D", str(spoken["mp3"])],
        check=True,
        capture_output=True,
        text=True,
    )
    assert 2 < sample.seconds < 20
    assert sample.seconds == pytest.approx(float(soxi.stdout), abs=0.1)


def test_storefront_check_prints_the_sample_length(runner, audio_catalog):
    result = runner.invoke(main, ["check", "--catalog", str(audio_catalog)])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "audio sample" in x)
    seconds = load_catalog(audio_catalog).book("voyage").edition("audiobook").audio_sample.seconds
    assert line == f"voyage: audio sample samples/sample.mp3 (MP3, {seconds:.1f} s)"


def line_of(path: Path, key: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(f"{key} ="))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"This is text, not sound.\n" * 40, "sample.mp3", "is not MP3 audio"),
        ("ogg", "sample.mp3", "is not MP3 audio (found OggVorbis audio)"),
        ("wav", "sample.wav", "must be one of: .m4a, .mp3, .ogg"),
        (b"", "sample.m4a", "is not M4A (AAC in MP4) audio"),
        (None, "missing.mp3", "file 'samples/missing.mp3' not found"),
    ],
)
def test_a_wrong_sample_is_a_named_catalog_error(
    runner, audio_catalog, spoken, content, name, message
):
    folder = audio_catalog.parent / "samples"
    if isinstance(content, bytes):
        (folder / name).write_bytes(content)
    elif content is not None:
        shutil.copy(spoken[content], folder / name)
    edit(audio_catalog, '"samples/sample.mp3"', f'"samples/{name}"')
    line = line_of(audio_catalog, "audio_sample")
    with pytest.raises(CatalogError) as caught:
        load_catalog(audio_catalog)
    (problem,) = caught.value.problems
    assert problem.path == "books[0].editions[1].audio_sample"
    assert message in problem.message
    # The CLI says it the same way, one line: file:line: key: message, exit 1.
    result = runner.invoke(main, ["check", "--catalog", str(audio_catalog)])
    assert result.exit_code == 1
    assert f"catalog.toml:{line}: books[0].editions[1].audio_sample: " in result.output
    assert "Traceback" not in result.output


def test_audio_keys_belong_to_the_audiobook_only(audio_catalog):
    edit(audio_catalog, 'format = "ebook"\n', 'format = "ebook"\ntranscript = "Nope."\n')
    with pytest.raises(CatalogError) as caught:
        load_catalog(audio_catalog)
    (problem,) = caught.value.problems
    assert problem.path == "books[0].editions[0].transcript"
    assert "only an audiobook" in problem.message


# ------------------------------------------------------------------ the length, per locale


@pytest.mark.parametrize(
    ("minutes", "locale", "text"),
    [
        (552, "en_US", "9 hr, 12 min"),
        (552, "en_GB", "9 hrs, 12 mins"),
        (552, "de_DE", "9 Std., 12 Min."),
        (552, "fr_FR", "9\u202fh et 12\xa0min"),
        (552, "es_ES", "9 h, 12 min"),  # Babel's format_list lacks es's "2" pattern
        (552, "ja_JP", "9 時間 12 分"),
        (540, "en_US", "9 hr"),
        (45, "en_US", "45 min"),
        (61, "en_US", "1 hr, 1 min"),
    ],
)
def test_length_is_formatted_for_the_locale(minutes, locale, text):
    assert format_duration(minutes, locale) == text


# ------------------------------------------------------------------ serving the sample


def test_sample_is_served_with_type_ranges_etag_and_caching(audio_client, spoken):
    body = spoken["mp3"].read_bytes()
    response = fetch(audio_client, "/books/voyage/sample.mp3")
    assert response.status_code == 200
    assert response.mimetype == "audio/mpeg"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(body))
    assert response.data == body
    assert "max-age=3600" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    etag = response.headers["ETag"]
    assert etag
    again = fetch(audio_client, "/books/voyage/sample.mp3", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", None, None)],
)
def test_range_requests_get_206_with_content_range(audio_client, spoken, header, start, end):
    body = spoken["mp3"].read_bytes()
    size = len(body)
    if start is None:  # the last 50 bytes
        start, end = size - 50, size - 1
    elif end is None:
        end = size - 1
    response = fetch(audio_client, "/books/voyage/sample.mp3", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.data == body[start : end + 1]
    assert response.mimetype == "audio/mpeg"


def test_an_unsatisfiable_range_gets_416(audio_client, spoken):
    size = spoken["mp3"].stat().st_size
    response = fetch(
        audio_client,
        "/books/voyage/sample.mp3",
        headers={"Range": f"bytes={size + 10}-{size + 20}"},
    )
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "url",
    [
        "/books/voyage/sample.ogg",  # not the type the catalog names
        "/books/voyage/sample.m4a",
        "/books/voyage/sample.wav",  # not an audio route at all
        "/books/voyage/sample.txt",
        "/books/nope/sample.mp3",
        "/books/first/sample.mp3",
    ],
)
def test_any_other_sample_url_is_a_404(audio_client, url):
    response = fetch(audio_client, url)
    assert response.status_code == 404


def test_the_epub_sample_route_is_still_there(audio_client):
    response = audio_client.get("/books/voyage/sample.epub")
    assert response.status_code == 200
    assert response.mimetype == "application/epub+zip"


def test_an_ogg_sample_is_served_as_audio_ogg(make_app, audio_catalog, spoken):
    shutil.copy(spoken["ogg"], audio_catalog.parent / "samples" / "sample.ogg")
    edit(audio_catalog, '"samples/sample.mp3"', '"samples/sample.ogg"')
    client = make_app(CATALOG=str(audio_catalog)).test_client()
    response = fetch(client, "/books/voyage/sample.ogg", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206 and response.data == b"OggS"
    assert response.mimetype == "audio/ogg"
    assert fetch(client, "/books/voyage/sample.mp3").status_code == 404


# ------------------------------------------------------------------ the page, card, JSON-LD


def page_soup(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.data[:300]
    return BeautifulSoup(response.data, "html.parser")


def test_book_page_shows_narrator_length_player_and_transcript(audio_client):
    soup = page_soup(audio_client, "/books/voyage")
    section = soup.select_one('section.format[data-format="audiobook"]')
    # Catalog text is escaped: the narrator's "<Reader>" is text, not a tag.
    assert section.select_one(".listen-line").get_text() == "Read by Jane <Reader> · 9 hr, 12 min"
    (audio,) = section.select("audio")
    assert audio["src"] == "/books/voyage/sample.mp3?src=page"  # a listen counts by placement
    assert audio.has_attr("controls") and audio["preload"] == "none"
    assert not audio.has_attr("autoplay")
    assert audio["aria-label"] == "Sample of the audiobook of Voyage: A <Test> & Story"
    transcript = section.select_one("details.transcript")
    assert transcript.summary.get_text() == "Transcript of the sample"
    assert "The ship left at dawn." in transcript.p.get_text()
    # Only the audiobook has a player.
    assert len(soup.select("audio")) == 1


def test_card_has_the_player_and_a_csp_that_allows_our_media(audio_client):
    response = audio_client.get("/embed/voyage")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["media-src"] == f"'self' {BASE}"
    assert directives["default-src"] == "'none'"
    soup = BeautifulSoup(response.data, "html.parser")
    (audio,) = soup.select('[data-format="audiobook"] audio')
    assert audio["src"] == f"{BASE}/books/voyage/sample.mp3?src=card"
    assert audio.has_attr("controls") and audio["preload"] == "none"
    assert not audio.has_attr("autoplay")
    text = soup.select_one('[data-format="audiobook"]').get_text(" ")
    assert "Read by Jane <Reader> · 9 hr, 12 min" in text
    # widget.js's fragment (shadow DOM on the host's page) carries the same player.
    fragment = BeautifulSoup(audio_client.get("/embed/voyage/fragment").data, "html.parser")
    assert fragment.select_one("audio")["src"] == f"{BASE}/books/voyage/sample.mp3?src=card"


def test_json_ld_has_the_audiobook_with_narrator_duration_and_sample(audio_client):
    response = audio_client.get("/books/voyage")
    data = extruct.extract(response.data.decode(), base_url=BASE + "/", syntaxes=["json-ld"])
    (book,) = [item for item in data["json-ld"] if item.get("@type") == "Book"]
    (audiobook,) = [e for e in book["workExample"] if e["@type"] == "Audiobook"]
    assert audiobook["bookFormat"] == "https://schema.org/AudiobookFormat"
    assert audiobook["readBy"] == {"@type": "Person", "name": "Jane <Reader>"}
    assert audiobook["duration"] == "PT9H12M"
    assert audiobook["encodingFormat"] == "audio/mpeg"
    audio = audiobook["audio"]
    assert audio["@type"] == "AudioObject"
    assert audio["contentUrl"] == f"{BASE}/books/voyage/sample.mp3"
    assert audio["encodingFormat"] == "audio/mpeg"
    assert re.fullmatch(r"PT\d+S", audio["duration"])
    assert audio["transcript"].startswith("Voyage. Chapter one.")
    # The script element cannot be closed early by catalog text.
    assert "</script><" not in json.dumps(audiobook)


# ------------------------------------------------------------------ Audible per marketplace


@pytest.mark.parametrize(
    ("country", "host", "code", "tag"),
    [
        ("GB", "www.audible.co.uk", "BOUNTYGB1", "writer-21"),
        ("DE", "www.audible.de", "BOUNTYDE1", "writer03-21"),
        ("AU", "www.audible.com.au", "BOUNTYAU1", None),  # no AU tag: none (it earns nothing)
        ("US", "www.audible.com", None, "writer-20"),
        (None, "www.audible.com", None, "writer-20"),
    ],
)
def test_audible_trial_goes_to_the_readers_own_marketplace(audio_catalog, country, host, code, tag):
    catalog = load_catalog(audio_catalog)
    book = catalog.book("voyage")
    dest = destination(catalog, book, book.offer("audible"), country)
    parts = urlsplit(dest.url)
    query = parse_qs(parts.query)
    assert parts.hostname == host
    assert query.get("source_code") == ([code] if code else None)
    assert query.get("tag") == ([tag] if tag else None)


def test_a_bounty_link_that_is_not_a_url_is_a_named_error(audio_catalog):
    edit(audio_catalog, '"https://www.audible.de/ep/', '"javascript://www.audible.de/ep/')
    with pytest.raises(CatalogError) as caught:
        load_catalog(audio_catalog)
    (problem,) = caught.value.problems
    assert problem.path == "books[0].editions[1].offers[0].countries.DE"


def test_a_reader_in_gb_is_redirected_to_the_uk_bounty_link(make_app, audio_catalog):
    client = make_app(CATALOG=str(audio_catalog), COUNTRY_HEADER="CF-IPCountry").test_client()
    response = client.get("/go/voyage/audible", headers={"CF-IPCountry": "GB"})
    assert response.status_code in (302, 303)
    location = urlsplit(response.headers["Location"])
    assert location.hostname == "www.audible.co.uk"
    assert parse_qs(location.query) == {"source_code": ["BOUNTYGB1"], "tag": ["writer-21"]}


# ------------------------------------------------------------------ EPUB and export


def test_epub_get_the_book_page_links_the_sample_and_names_the_narrator(audio_client):
    response = audio_client.get("/books/voyage/sample.epub")
    with zipfile.ZipFile(io.BytesIO(response.data)) as epub:
        name = next(n for n in epub.namelist() if n.endswith("buy.xhtml"))
        soup = BeautifulSoup(epub.read(name), "xml")
    line = soup.find("p", class_="listen-line")
    assert line.get_text() == "Read by Jane <Reader> · 9 hr, 12 min"
    link = soup.find("p", class_="listen").a
    assert link["href"] == f"{BASE}/books/voyage/sample.mp3?src=epub"


def test_export_copies_the_sample_beside_the_page(tmp_path, audio_catalog, spoken):
    from storefront.export import export_site

    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    result = export_site(tmp_path / "site", catalog_path=audio_catalog, base_url=BASE, at=at)
    root = (tmp_path / "site").resolve()
    sample = root / "books" / "voyage" / "sample.mp3"
    assert [p.relative_to(root) for p in root.rglob("*.mp3")] == [sample.relative_to(root)]
    assert result.missing == {}
    assert sample.read_bytes() == spoken["mp3"].read_bytes()
    assert mutagen.File(sample).info.length > 2
    page = BeautifulSoup((sample.parent / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert page.select_one("audio")["src"] == "sample.mp3"  # beside the page, on any host
    # What other sites show (the widget's fragment) and the JSON-LD name the public URL.
    public = f"{BASE}/books/voyage/sample.mp3"
    fragment = (root / "embed/voyage/fragment/layout-card.html").read_text(encoding="utf-8")
    assert BeautifulSoup(fragment, "html.parser").select_one("audio")["src"] == public
    data = extruct.extract(str(page), base_url=BASE + "/", syntaxes=["json-ld"])["json-ld"]
    (book,) = [item for item in data if item.get("@type") == "Book"]
    (audiobook,) = [e for e in book["workExample"] if e["@type"] == "Audiobook"]
    assert audiobook["audio"]["contentUrl"] == public


@pytest.mark.epubcheck
@pytest.mark.slow
def test_epub_with_the_sample_link_passes_epubcheck_with_no_message(tmp_path, audio_catalog):
    from storefront.urls import Urls
    from widgets.epub import build_sample

    from .test_epub_check import epubcheck

    catalog = load_catalog(audio_catalog)
    path = tmp_path / "voyage.epub"
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    path.write_bytes(build_sample(catalog, catalog.book("voyage"), at, Urls(BASE)))
    report = epubcheck(path)
    assert [f"{m['ID']}: {m['message']}" for m in report["messages"]] == []
    assert report["exit_code"] == 0


def test_the_sample_route_leaves_the_fast_path_on(make_app, audio_catalog):
    from storefront import fastpath

    app = make_app(CATALOG=str(audio_catalog))
    assert fastpath.refusals(app) == {}
    assert "audio.audio_sample" not in fastpath.ROUTES  # Flask answers it: send_file


@pytest.mark.parametrize("size", ["letter", "a4"])
def test_flyers_name_the_narrator_and_length(audio_client, size):
    from .test_flyer import pdf_text

    response = fetch(audio_client, f"/books/voyage/flyer.pdf?size={size}")
    assert response.status_code == 200, response.data[:300]
    text = " ".join(pdf_text(response.data).split())
    assert "Read by Jane <Reader> · 9 hr, 12 min" in text
