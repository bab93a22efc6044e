"""The author's desk end to end in headless Chromium, and axe-core on every desk page.

The anniversary sale is created in the browser from a catalog that does not have it
yet (the built-in catalog with that one campaign cut out, every comment kept), then
previewed, saved, checked, seen on the public page and printed.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pypdfium2
import pytest
import zxingcpp

from storefront.catalog import builtin_catalog_path, load_catalog
from storefront.cli import main
from widgets.print import piece_names

from .conftest import serve_wsgi

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
PHOENIX = ZoneInfo("America/Phoenix")
BASE = "https://books.example.org"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SALE_BLOCK = re.compile(r'\[\[campaigns\]\]\nslug = "apollo8-anniversary".*?\n\n', re.S)


def comments(text: str) -> list[str]:
    """Every comment of a TOML text (whole-line and trailing), in order."""
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found.append(stripped)
        elif " #" in line and not stripped.startswith(("description", "text")):
            found.append(line[line.index(" #") :].strip())
    return found


@pytest.fixture
def catalog_file(tmp_path) -> Path:
    text = builtin_catalog_path().read_text(encoding="utf-8")
    without, cut = SALE_BLOCK.subn("", text)
    assert cut == 1
    path = tmp_path / "books" / "catalog.toml"
    path.parent.mkdir()
    path.write_text(without, encoding="utf-8")
    return path


@pytest.fixture
def desk_site(make_app, catalog_file, clock):
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=PHOENIX))
    app = make_app(CATALOG=str(catalog_file))
    app.extensions["desk"].auth.set_password(PASSWORD)
    with serve_wsgi(app) as base_url:
        yield base_url


def signed_in_page(chromium, site, **options):
    context = chromium.new_context(base_url=site, **options)
    page = context.new_page()
    page.goto("/admin/")
    assert "/admin/login" in page.url
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    return context, page


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def qr_codes(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    try:
        codes = []
        for i in range(len(document)):
            image = document[i].render(scale=150 / 72).to_pil()
            codes += [r.text for r in zxingcpp.read_barcodes(image)]
        return codes
    finally:
        document.close()


def test_the_anniversary_sale_from_creation_to_print(
    chromium, desk_site, catalog_file, clock, runner
):
    opened = catalog_file.read_text(encoding="utf-8")
    context, page = signed_in_page(chromium, desk_site, accept_downloads=True)

    # Create the sale: 21-27 December, 50% off the ebook, Genesis only.
    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Slug").fill("apollo8-anniversary")
    page.get_by_label("Name").fill("Apollo 8 anniversary sale")
    page.get_by_label("Headline").fill(
        "58 years since the first voyage to the Moon: Genesis on sale"
    )
    page.get_by_label("Starts").fill("2026-12-21")
    page.get_by_label("Ends").fill("2026-12-27")
    page.get_by_label("Percent off").fill("50")
    page.get_by_role("checkbox", name="genesis", exact=True).check()
    page.get_by_role("checkbox", name="ebook", exact=True).check()
    page.get_by_role("button", name="Show what it selects").click()
    rows = page.locator("tr[data-offer]")
    assert rows.count() == 6  # the six ebook offers, no audiobook
    # 50% of $5.99 is $2.995: a percent off never costs more than it promises, so $2.99.
    assert page.locator('tr[data-offer="ebookit"] td').nth(4).inner_text() == "$2.99"
    assert page.locator('tr[data-offer="kindle"] td').nth(4).inner_text() == "$2.99"
    assert page.get_by_text("selects every book").count() == 0
    page.get_by_role("button", name="Save").click()
    assert "Saved (history #1)" in page.locator(".notice.success").inner_text()

    # The file: every comment it had, and `storefront check` passes.
    saved = catalog_file.read_text(encoding="utf-8")
    assert comments(saved) == comments(opened)
    assert runner.invoke(main, ["check", "--catalog", str(catalog_file)]).exit_code == 0
    sale = load_catalog(catalog_file).campaign("apollo8-anniversary")
    assert sale.books == ("genesis",) and sale.formats == ("ebook",)
    assert sale.percent_off == 50

    # Preview 22 December: the page, every card and the flyer say $2.99.
    page.goto("/admin/preview?day=2026-12-22&time=09:00&show=page&book=genesis")
    assert "22 December 2026" in page.locator("#preview-banner").inner_text()
    frame = page.frame_locator("iframe.preview")
    assert "Preview as readers will see it" in frame.locator("[role=note]").inner_text()
    assert "$2.99" in frame.locator("main").inner_text()
    page.goto("/admin/preview?day=2026-12-22&show=cards&book=genesis")
    for layout in ("card", "banner", "compact"):
        card = page.frame_locator(f'iframe[title^="Preview of the {layout} card"]')
        assert "$2.99" in card.locator("body").inner_text(), layout
    flyer = page.request.get("/admin/preview/piece/flyer-letter.pdf?book=genesis&day=2026-12-22")
    assert flyer.headers["cache-control"] == "no-store"
    assert "$2.99" in pdf_text(flyer.body())

    # The public page at that instant shows the sale.
    clock.set(datetime(2026, 12, 22, 9, 0, tzinfo=PHOENIX))
    public = context.new_page()
    public.goto("/books/genesis")
    assert "$2.99" in public.locator("main").inner_text()
    assert public.locator("[role=note]").count() == 0
    public.close()

    # Build the campaign's pieces, with the progress bar, and download the ZIP.
    page.goto("/admin/pieces/apollo8-anniversary")
    page.get_by_role("button", name="Build this campaign's pieces").click()
    page.wait_for_selector("#build[data-state=done]", timeout=240_000)
    bar = page.locator("#build-progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == str(len(piece_names()))
    with page.expect_download() as download:
        page.locator("#zip").click()
    archive = zipfile.ZipFile(download.value.path())
    names = archive.namelist()
    assert (
        len(names) == len(piece_names()) and "genesis-apollo8-anniversary-flyer-letter.pdf" in names
    )
    tracked = f"{BASE}/go/genesis?src=qr&c=apollo8-anniversary"
    for name in names:
        if not name.endswith(".pdf"):
            continue
        data = archive.read(name)
        assert len(pypdf.PdfReader(io.BytesIO(data)).pages) >= 1, name
        codes = qr_codes(data)
        assert codes and set(codes) == {tracked}, name
        if "flyer" in name:
            assert "$2.99" in pdf_text(data), name

    # Again with nothing changed: every piece is skipped.
    status = page.request.post(
        "/admin/pieces/apollo8-anniversary/build",
        form={"csrf_token": page.locator("input[name=csrf_token]").first.get_attribute("value")},
        headers={"Accept": "application/json"},
    )
    assert status.status == 202
    page.wait_for_timeout(200)
    for _ in range(100):
        result = page.request.get("/admin/pieces/apollo8-anniversary/status.json").json()
        if result["state"] != "running":
            break
        page.wait_for_timeout(100)
    assert (
        result["state"] == "done" and result["built"] == [] and len(result["skipped"]) == len(names)
    )
    context.close()


DESK_URLS = [
    "/admin/",
    "/admin/catalog",
    "/admin/campaigns",
    "/admin/edit/site",
    "/admin/edit/books[0]",
    "/admin/edit/books[0].editions[0].offers[1]",
    "/admin/edit/vendors[1]",
    "/admin/edit/campaigns[0]",
    "/admin/edit/authors[0]",
    "/admin/new/campaigns",
    "/admin/sample/books[0]",
    "/admin/history",
    "/admin/preview?day=2026-12-22",
    "/admin/preview?day=2026-12-22&show=cards",
    "/admin/preview?day=2026-12-22&show=pieces",
    "/admin/pieces/july-fundraiser",
    "/admin/statistics",
    "/admin/new/authors",
]


@pytest.fixture
def axe():
    return pytest.importorskip("axe_playwright_python.sync_playwright").Axe()


def test_desk_pages_pass_axe_wcag_aa(chromium, desk_site, axe):
    context = chromium.new_context(base_url=desk_site, bypass_csp=True)
    page = context.new_page()
    page.goto("/admin/login")
    results = axe.run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()
    context.close()
    context, page = signed_in_page(chromium, desk_site, bypass_csp=True)
    for url in DESK_URLS:
        page.goto(url)
        results = axe.run(page, options=WCAG_AA)
        assert results.violations_count == 0, f"{url}\n{results.generate_report()}"
    # A form with errors: each message tied to its field.
    page.goto("/admin/new/campaigns")
    page.get_by_label("Percent off").fill("150")
    page.get_by_role("button", name="Save").click()
    assert page.locator("#problems").is_visible()
    results = axe.run(page, options=WCAG_AA)
    assert results.violations_count == 0, results.generate_report()
    context.close()


def test_the_desk_works_from_the_keyboard(chromium, desk_site, catalog_file):
    context, page = signed_in_page(chromium, desk_site)
    page.goto("/admin/edit/site")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.get_by_label("Site title").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("Books by keyboard")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_selector(".notice.success")
    assert load_catalog(catalog_file).site.title == "Books by keyboard"
    context.close()


def test_the_page_preview_shows_the_whole_page_with_every_price(chromium, desk_site):
    context, page = signed_in_page(chromium, desk_site, viewport={"width": 1280, "height": 720})
    page.goto("/admin/preview?day=2026-12-22&show=page&book=genesis")
    page.wait_for_function(
        """() => { const f = document.querySelector("iframe.preview");
                   const d = f.contentDocument;
                   return d && d.readyState === "complete"
                       && f.clientHeight >= d.documentElement.scrollHeight; }"""
    )
    iframe = page.locator("iframe.preview").bounding_box()
    # Every offer with its price (the audiobook's are the last on the page).
    prices = page.frame_locator("iframe.preview").locator("ul.vendors li[data-offer] a.buy")
    assert prices.count() >= 6
    lowest = max(
        (prices.nth(n).bounding_box() for n in range(prices.count())), key=lambda b: b["y"]
    )
    # Below the fold of the old fixed 38rem frame, and inside the frame as it is now.
    assert lowest["y"] - iframe["y"] > 38 * 16
    assert lowest["y"] + lowest["height"] <= iframe["y"] + iframe["height"]
    context.close()


def test_print_previews_keep_their_space_while_they_render(chromium, desk_site):
    context, page = signed_in_page(chromium, desk_site, viewport={"width": 1280, "height": 900})
    # Hold the images back: what the author sees while the pieces render.
    page.route("**/admin/preview/piece/**", lambda route: None)
    page.goto("/admin/preview?day=2026-12-22&show=pieces&book=genesis", wait_until="commit")
    figure = page.locator("figure.piece").first
    figure.wait_for()
    box = figure.bounding_box()
    assert box["height"] == pytest.approx(box["width"] * 11 / 8.5, abs=2)  # a Letter page
    progress = figure.locator("progress")
    assert progress.is_visible() and progress.get_attribute("value") is None  # indeterminate
    assert progress.get_attribute("aria-label") == "Rendering the flyer-letter"
    context.close()
