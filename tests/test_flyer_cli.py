"""``storefront flyers``: builds every piece, skips unchanged ones, writes atomically, reports."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import storefront.files
from storefront.catalog import builtin_catalog_path
from storefront.cli import main
from tests.test_flyer import BASE, CAMPAIGN, LONG_CATALOG, pdf_text, qr_texts
from widgets.print import PIECES

ALL_FILES = sorted(f"genesis-{CAMPAIGN}-{name}{piece.extension}" for name, piece in PIECES.items())


def summary_line(output: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) built, (\d+) skipped, (\d+) failed in [\d.]+ s", output)
    assert m, output
    return int(m[1]), int(m[2]), int(m[3])


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("STOREFRONT_BASE_URL", BASE)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


@pytest.fixture
def catalog_copy(tmp_path):
    """The built-in catalog, copied so a test can edit it."""
    path = tmp_path / "catalog.toml"
    path.write_text(builtin_catalog_path().read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_builds_every_piece_of_a_campaign_then_skips_them_all(runner, tmp_path, env):
    out = tmp_path / "out"
    first = runner.invoke(main, ["flyers", "--campaign", CAMPAIGN, "-o", str(out), "-j", "1"])
    assert first.exit_code == 0, first.output
    assert summary_line(first.output) == (len(PIECES), 0, 0)
    assert sorted(outputs(out)) == ALL_FILES
    letter = outputs(out)[f"genesis-{CAMPAIGN}-flyer-letter.pdf"]
    assert qr_texts(letter) == [[f"{BASE}/go/genesis?src=qr&c={CAMPAIGN}"]]
    assert "$2.99" in pdf_text(letter)

    again = runner.invoke(main, ["flyers", "--campaign", CAMPAIGN, "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert summary_line(again.output) == (0, len(PIECES), 0)
    assert outputs(out)[f"genesis-{CAMPAIGN}-flyer-letter.pdf"] == letter


def test_without_a_campaign_pieces_show_the_prices_now(runner, tmp_path, env):
    out = tmp_path / "out"
    result = runner.invoke(
        main,
        ["flyers", "-o", str(out), "--piece", "flyer-a4", "--now", "2026-11-25T12:00:00Z"],
    )
    assert result.exit_code == 0, result.output
    assert list(outputs(out)) == ["genesis-flyer-a4.pdf"]
    text = pdf_text((out / "genesis-flyer-a4.pdf").read_bytes())
    assert "$5.99" in text and "$2.99" not in text
    # During the sale, the same command prints the sale (and its campaign in the QR code).
    during = runner.invoke(
        main,
        ["flyers", "-o", str(out), "--piece", "flyer-a4", "--now", "2026-12-22T09:00:00-07:00"],
    )
    assert summary_line(during.output) == (1, 0, 0)
    data = (out / "genesis-flyer-a4.pdf").read_bytes()
    assert "$2.99" in pdf_text(data)
    assert qr_texts(data) == [[f"{BASE}/go/genesis?src=qr&c={CAMPAIGN}"]]


def test_a_catalog_edit_rebuilds_only_the_pieces_it_changes(runner, tmp_path, env, catalog_copy):
    out = tmp_path / "out"
    args = [
        "flyers",
        "--catalog",
        str(catalog_copy),
        "--campaign",
        CAMPAIGN,
        "-o",
        str(out),
        "-j",
        "1",
    ]
    assert summary_line(runner.invoke(main, args).output) == (len(PIECES), 0, 0)
    before = outputs(out)
    # The Audible note is printed only in the vendor list of the (non-bookstore) flyers.
    text = catalog_copy.read_text(encoding="utf-8")
    catalog_copy.write_text(
        text.replace("Free with a 30-day Audible trial membership", "Free with an Audible trial"),
        encoding="utf-8",
    )
    result = runner.invoke(main, args)
    assert summary_line(result.output) == (2, len(PIECES) - 2, 0)
    changed = {name for name, data in outputs(out).items() if data != before[name]}
    assert changed == {f"genesis-{CAMPAIGN}-flyer-letter.pdf", f"genesis-{CAMPAIGN}-flyer-a4.pdf"}
    assert "Free with an Audible trial" in pdf_text(
        outputs(out)[f"genesis-{CAMPAIGN}-flyer-a4.pdf"]
    )


def test_a_deleted_or_edited_output_is_rebuilt(runner, tmp_path, env):
    out = tmp_path / "out"
    args = [
        "flyers",
        "--campaign",
        CAMPAIGN,
        "-o",
        str(out),
        "--piece",
        "postcard",
        "--piece",
        "social",
    ]
    runner.invoke(main, args)
    (out / f"genesis-{CAMPAIGN}-postcard.pdf").write_bytes(b"%PDF-1.7 scribbled over")
    (out / f"genesis-{CAMPAIGN}-social.png").unlink()
    result = runner.invoke(main, args)
    assert summary_line(result.output) == (2, 0, 0)
    assert pdf_text((out / f"genesis-{CAMPAIGN}-postcard.pdf").read_bytes())


def test_force_rebuilds_unchanged_pieces(runner, tmp_path, env):
    out = tmp_path / "out"
    args = ["flyers", "--campaign", CAMPAIGN, "-o", str(out), "--piece", "postcard"]
    runner.invoke(main, args)
    assert summary_line(runner.invoke(main, [*args, "--force"]).output) == (1, 0, 0)


def test_parallel_build_writes_the_same_bytes_as_a_serial_one(runner, tmp_path, env):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    one = runner.invoke(main, ["flyers", "--campaign", CAMPAIGN, "-o", str(serial), "-j", "1"])
    two = runner.invoke(main, ["flyers", "--campaign", CAMPAIGN, "-o", str(parallel), "-j", "2"])
    assert one.exit_code == two.exit_code == 0, two.output
    assert "(2 worker(s))" in two.output
    assert outputs(serial) == outputs(parallel)
    manifest = json.loads((parallel / ".storefront-flyers.json").read_text())
    assert sorted(manifest["files"]) == ALL_FILES


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_piece_that_does_not_fit_is_reported_and_the_rest_are_built(
    runner, tmp_path, env, workers
):
    catalog = tmp_path / "long.toml"
    text = LONG_CATALOG.read_text(encoding="utf-8")
    catalog.write_text(
        text.replace('source = "Cape Chronicle"', 'source = "' + "Cape " * 400 + '"'),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(
        main,
        [
            "flyers",
            "--catalog",
            str(catalog),
            "-o",
            str(out),
            "-j",
            workers,
            "--piece",
            "flyer-letter",
            "--piece",
            "postcard",
        ],
    )
    assert result.exit_code == 1
    assert summary_line(result.output) == (1, 0, 1)
    assert re.search(
        r"FAILED +chronicle-flyer-letter\.pdf: "
        r"flyer-letter for book 'chronicle': the quotes do not fit",
        result.output,
    ), result.output
    assert sorted(os.listdir(out)) == [
        ".storefront-flyers.json",
        "chronicle-postcard.pdf",
    ]  # no half files
    # The failure is not remembered as built: the next run tries again.
    assert (
        "chronicle-flyer-letter.pdf"
        not in json.loads((out / ".storefront-flyers.json").read_text())["files"]
    )


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    runner, tmp_path, env, monkeypatch
):
    out = tmp_path / "out"
    args = ["flyers", "--campaign", CAMPAIGN, "-o", str(out), "--piece", "postcard"]
    runner.invoke(main, args)
    before = outputs(out)

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storefront.files.os, "replace", crash)
    result = runner.invoke(main, [*args, "--force"])
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert outputs(out) == before
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "nope"], "no campaign 'nope' in the catalog"),
        (["--book", "nope"], "no book 'nope'"),
        (["--piece", "poster"], "'poster' is not one of"),
    ],
)
def test_bad_options_are_clean_usage_errors(runner, tmp_path, args, message):
    result = runner.invoke(main, ["flyers", "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_campaign_builds_only_the_books_it_discounts(runner, tmp_path):
    args = ["flyers", "--catalog", str(LONG_CATALOG), "--campaign", "launch-week"]
    included = runner.invoke(main, [*args, "--piece", "social", "-o", str(tmp_path / "a")])
    assert included.exit_code == 0, included.output
    assert list(outputs(tmp_path / "a")) == ["chronicle-launch-week-social.png"]
    catalog = tmp_path / "scoped.toml"
    catalog.write_text(
        LONG_CATALOG.read_text(encoding="utf-8").replace(
            "percent_off = 20", 'percent_off = 20\nformats = ["ebook"]'
        ),
        encoding="utf-8",
    )
    args = [
        "flyers",
        "--catalog",
        str(catalog),
        "--campaign",
        "launch-week",
        "-o",
        str(tmp_path / "b"),
    ]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 1
    assert "campaign 'launch-week' does not include any book" in refused.output
    one = runner.invoke(main, [*args, "--book", "chronicle"])
    assert one.exit_code == 1
    assert "campaign 'launch-week' does not include book 'chronicle'" in one.output


def test_a_broken_catalog_exits_1_listing_the_problems(runner, tmp_path, write_catalog):
    path = write_catalog("[site]\ntitle = 3\n")
    result = runner.invoke(main, ["flyers", "--catalog", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "catalog.toml" in result.output and "problem(s) in the catalog" in result.output


def test_forked_workers_leave_the_parents_fonts_alone(runner, tmp_path, env):
    import widgets.print as flyer
    from storefront.catalog import load_catalog
    from storefront.urls import Urls

    catalog = load_catalog()
    genesis = catalog.book("genesis")
    flyer.build_piece(catalog, genesis, "postcard", urls=Urls(BASE))
    parent = flyer.renderer()
    folder = parent.font_config._folder  # where WeasyPrint keeps the @font-face files
    assert folder is not None and folder.is_dir()
    args = ["flyers", "--campaign", CAMPAIGN, "-o", str(tmp_path / "out"), "-j", "2"]
    result = runner.invoke(main, [*args, "--piece", "postcard", "--piece", "bookmarks"])
    assert summary_line(result.output) == (2, 0, 0)
    assert flyer.renderer() is parent and folder.is_dir()
    data = flyer.build_piece(catalog, genesis, "flyer-a4", urls=Urls(BASE), at=None)
    assert "Genesis" in pdf_text(data)


def test_build_campaign_is_the_entry_point_the_cli_and_the_desk_share(tmp_path, env):
    from storefront.catalog import load_catalog
    from storefront.urls import Urls
    from widgets.print import FlyerError, build_campaign

    catalog = load_catalog()
    steps = []
    summary = build_campaign(
        catalog,
        tmp_path / "out",
        urls=Urls(BASE),
        campaign=CAMPAIGN,
        pieces=("postcard",),
        progress=lambda step, total: steps.append((step, total)),
    )
    assert summary.ok and summary.built == [f"genesis-{CAMPAIGN}-postcard.pdf"]
    assert steps == [(0, 1), (1, 1)]
    assert qr_texts((tmp_path / "out" / summary.built[0]).read_bytes())[1] == [
        f"{BASE}/go/genesis?src=qr&c={CAMPAIGN}"
    ]
    for kwargs, option in (({"campaign": "nope"}, "campaign"), ({"book": "nope"}, "book")):
        with pytest.raises(FlyerError) as caught:
            build_campaign(catalog, tmp_path / "x", urls=Urls(BASE), **kwargs)
        assert caught.value.option == option
    assert not (tmp_path / "x").exists()  # refused before anything was written
