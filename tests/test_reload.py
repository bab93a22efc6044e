"""A catalog reload never stalls readers: a big catalog loads beside them, then replaces the old."""

from __future__ import annotations

import gc
import logging
import os
import time
import weakref

from bs4 import BeautifulSoup

from storefront.state import CatalogStore

from .conftest import MINIMAL_CATALOG

RELOAD_DEADLINE = 120.0  # seconds; the 9 MB catalog loads in ~5 s on 2 busy cores


def big_catalog(books: int = 2000) -> str:
    """The minimal catalog's site and vendors with ``books`` books of ~4.4 KB each (~9 MB)."""
    head, book = MINIMAL_CATALOG.split("[[books]]", 1)
    filler = "A sentence about the book and its history. " * 90
    parts = [head]
    for i in range(books):
        parts.append(
            ("[[books]]" + book)
            .replace('slug = "first"', f'slug = "book-{i}"')
            .replace('title = "First Book"', f'title = "Book {i}"')
            .replace("It has two sentences.", "It has two sentences. " + filler)
            .replace("https://shop.example/first", f"https://shop.example/{i}")
            .replace("https://other.example/first", f"https://other.example/{i}")
        )
    return "".join(parts)


def replace_file(path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it over (as an editor or deploy does)."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(fresh, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    os.replace(fresh, path)


def title(response) -> str:
    return BeautifulSoup(response.text, "html.parser").find("h1").get_text(strip=True)


def test_a_big_reload_answers_readers_from_the_old_catalog_then_switches(make_app, write_catalog):
    path = write_catalog()
    app = make_app(CATALOG=str(path), CATALOG_RELOAD_INTERVAL=0.001)
    client = app.test_client()
    store = app.extensions["storefront"].catalog_store
    old = client.get("/healthz").get_json()["catalog"]
    text = big_catalog()
    assert len(text) > 8_500_000

    replace_file(path, text)
    time.sleep(0.01)
    client.get("/healthz")  # the first request after the edit starts the reload...
    assert store.reloading  # ...and was answered while it runs

    during = []
    deadline = time.monotonic() + RELOAD_DEADLINE
    while store.reloading and time.monotonic() < deadline:
        health = client.get("/healthz")
        page = client.get("/books/first")
        missing = client.get("/books/book-1999")
        if store.reloading:  # all three were answered before the reload ended
            during.append((health.get_json()["catalog"], page.status_code, missing.status_code))
        time.sleep(0.02)
    assert store.wait(RELOAD_DEADLINE), "the reload did not finish"

    # Readers were served, many times over, from the last good catalog meanwhile.
    assert len(during) >= 5
    assert set(during) == {(old, 200, 404)}
    # Then the new catalog serves.
    health = client.get("/healthz").get_json()
    assert health["catalog"] != old
    assert title(client.get("/books/book-1999")) == "Book 1999"
    assert client.get("/books/first").status_code == 404


def test_an_invalid_edit_keeps_the_last_good_catalog(make_app, write_catalog, caplog):
    path = write_catalog()
    app = make_app(CATALOG=str(path), CATALOG_RELOAD_INTERVAL=0.001)
    client = app.test_client()
    store = app.extensions["storefront"].catalog_store
    old = client.get("/healthz").get_json()["catalog"]

    replace_file(path, MINIMAL_CATALOG.replace('price = "10.00"', 'price = "ten"', 1))
    time.sleep(0.01)
    with caplog.at_level(logging.ERROR, logger="storefront.state"):
        client.get("/healthz")
        assert store.wait(RELOAD_DEADLINE)
    assert client.get("/healthz").get_json()["catalog"] == old
    assert title(client.get("/books/first")) == "First Book"
    (record,) = [r for r in caplog.records if "invalid" in r.getMessage()]
    assert "still serving version " + old in record.getMessage()

    # A fixed file is picked up on the next check.
    replace_file(path, MINIMAL_CATALOG.replace('title = "First Book"', 'title = "Fixed Book"'))
    time.sleep(0.01)
    client.get("/healthz")
    assert store.wait(RELOAD_DEADLINE)
    assert title(client.get("/books/first")) == "Fixed Book"


def test_interval_zero_reloads_before_answering(make_app, write_catalog):
    path = write_catalog()
    app = make_app(CATALOG=str(path), CATALOG_RELOAD_INTERVAL=0)
    client = app.test_client()
    assert title(client.get("/books/first")) == "First Book"
    replace_file(path, MINIMAL_CATALOG.replace('title = "First Book"', 'title = "Second Title"'))
    assert title(client.get("/books/first")) == "Second Title"


def test_a_negative_interval_never_reloads(make_app, write_catalog):
    path = write_catalog()
    app = make_app(CATALOG=str(path), CATALOG_RELOAD_INTERVAL=-1)
    client = app.test_client()
    replace_file(path, MINIMAL_CATALOG.replace('title = "First Book"', 'title = "Second Title"'))
    assert title(client.get("/books/first")) == "First Book"
    assert not app.extensions["storefront"].catalog_store.reloading


def test_a_reload_in_a_frozen_heap_lets_the_old_catalog_be_collected(write_catalog):
    """The server's workers freeze their heap (``gc.freeze``) once the app is built; a
    reload unfreezes it, collects and freezes again, so an old catalog held only by a
    reference cycle is freed, not kept for the life of the worker."""
    path = write_catalog()
    store = CatalogStore(path, interval=0)
    old = store.get()
    object.__setattr__(old, "_cycle", old)  # held by a cycle only, once replaced
    gone = weakref.ref(old)
    del old
    gc.freeze()
    try:
        replace_file(path, path.read_text(encoding="utf-8").replace("First Book", "Renamed"))
        assert store.get().books[0].title == "Renamed"
        assert gone() is None
        assert gc.get_freeze_count() > 0  # the new catalog is frozen in its turn
    finally:
        gc.unfreeze()
