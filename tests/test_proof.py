"""Print pieces never carry an address that leads nowhere: without one, every page says PROOF.

``storefront flyers`` and ``storefront backlist`` without a public address (no
``STOREFRONT_BASE_URL``, no ``site.base_url``, no ``--base-url``) still build (exit 0),
say why in one line, and every page of every PDF carries the proof mark (read from the
PDF's text); with a public address, no page does.
"""

from __future__ import annotations

import io

import pypdf
import pytest

from storefront.cli import main
from storefront.urls import is_public_address, print_proof
from tests.test_flyer import BASE, pdf_text

MARK = "PROOF — links point to 127.0.0.1:8000; set STOREFRONT_BASE_URL to print"


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000", False),
        ("http://[::1]:8000", False),
        ("http://192.168.1.20", False),
        ("http://10.0.0.5:8000", False),
        ("http://books.local", False),
        ("http://myserver:8000", False),  # a bare name resolves only on the author's network
        ("https://books.example.org", True),
        ("https://203.0.113.9", False),  # documentation range: reserved, not a reader's address
        ("https://8.8.8.8", True),
        ("https://[2606:4700::1111]", True),
    ],
)
def test_public_address_rule(url, public):
    assert is_public_address(url) is public
    assert (print_proof(url) is None) is public


def page_texts(data: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(data)).pages]


@pytest.fixture(scope="module")
def proofs(tmp_path_factory):
    """Every piece of the built-in catalog, built once without a public address."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("proofs")
    result = CliRunner().invoke(
        main,
        ["flyers", "-o", str(out), "-j", "1"],
        env={"STOREFRONT_BASE_URL": None, "STOREFRONT_CATALOG": None},
    )
    return result, out


def test_flyers_without_a_public_address_exit_0_with_one_warning_line(proofs):
    result, _ = proofs
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: no public address: QR codes and links point to 127.0.0.1:8000, so every page "
        "is marked PROOF; set STOREFRONT_BASE_URL, site.base_url or --base-url"
    ]


def test_every_page_of_every_pdf_carries_the_mark(proofs):
    _, out = proofs
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == 6  # flyers, bookstore editions, postcard, bookmarks
    pages = 0
    for pdf in pdfs:
        for number, text in enumerate(page_texts(pdf.read_bytes()), 1):
            assert MARK in text, f"{pdf.name} page {number}: {text[:200]}"
            pages += 1
    assert pages >= 7  # the postcard has a front and a back


@pytest.mark.parametrize("how", ["option", "environment"])
def test_with_a_public_address_no_page_is_marked(runner, tmp_path, how):
    args = ["flyers", "-o", str(tmp_path), "--piece", "flyer-letter", "--piece", "postcard"]
    env = {"STOREFRONT_BASE_URL": BASE if how == "environment" else None}
    if how == "option":
        args += ["--base-url", BASE]
    result = runner.invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    for pdf in tmp_path.glob("*.pdf"):
        assert "PROOF" not in pdf_text(pdf.read_bytes())
        assert "127.0.0.1" not in pdf_text(pdf.read_bytes())


def test_backlist_without_a_public_address_is_a_proof(runner, tmp_path):
    out = tmp_path / "backlist.pdf"
    result = runner.invoke(main, ["backlist", "-o", str(out)], env={"STOREFRONT_BASE_URL": None})
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning:") == 1
    assert all(MARK in text for text in page_texts(out.read_bytes()))
    public = runner.invoke(main, ["backlist", "-o", str(out), "--base-url", BASE])
    assert public.exit_code == 0 and "warning" not in public.stderr
    assert "PROOF" not in pdf_text(out.read_bytes())


def test_the_flyer_route_is_a_proof_only_without_a_public_address(make_app):
    public = make_app().test_client().get("/books/genesis/flyer.pdf").data
    assert "PROOF" not in pdf_text(public)
    local = make_app(BASE_URL=None).test_client().get("/books/genesis/flyer.pdf").data
    assert MARK in pdf_text(local)


@pytest.mark.parametrize(("base", "marked"), [("http://127.0.0.1:8000", True), (BASE, False)])
def test_the_press_sheet_follows_the_same_rule(base, marked):
    from storefront.catalog import builtin_catalog_path, load_catalog
    from storefront.pricing import utcnow
    from storefront.urls import Urls
    from widgets.press.kit import build_press_kit
    from widgets.print.press import build_press_sheet

    catalog = load_catalog(builtin_catalog_path())
    kit = build_press_kit(catalog, utcnow(), Urls(base), "genesis")
    texts = page_texts(build_press_sheet(kit, "genesis"))
    assert texts and all((MARK in text) is marked for text in texts)
