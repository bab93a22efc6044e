"""The app's click store, as flaskr's ``db.py``: opened by :func:`init_app`, found by
:func:`get_click_store`.

``create_app`` calls :func:`init_app` once; the ``/go`` views record clicks into the
store, ``/admin/stats`` and ``/healthz`` read it. The schema is created or migrated
on first use (the first click, stats or replay), so an app that serves no click never
touches the database; clicks spooled while it was down are replayed at start-up.
"""

from __future__ import annotations

from flask import Flask, current_app

from .storage import ClickStore, open_click_store

EXTENSION = "clicks"  # app.extensions key


def init_app(app: Flask) -> ClickStore:
    """Open the click store for the app's settings and replay any spooled clicks."""
    store = open_click_store(
        app.config["DATABASE_URL"],
        app.instance_path,
        # Numbers within their range: storefront.settings checked them.
        timeout=float(app.config["DATABASE_TIMEOUT"]),
        budget=float(app.config["CLICK_BUDGET"]),
        replay_interval=float(app.config["SPOOL_REPLAY_INTERVAL"]),
        # A server answers the reader once the click is in its log (docs/clicks.md); a
        # test app waits for the commit, so a test reads the click it just made.
        wait=app.testing,
    )
    app.extensions[EXTENSION] = store
    if store.spool.pending():
        store.try_replay()  # never raises: if the database is down, the replayer retries
        if store.spool.pending():
            store.start_replayer()
    return store


def get_click_store() -> ClickStore:
    """The current app's :class:`~storefront.storage.ClickStore`."""
    return current_app.extensions[EXTENSION]
