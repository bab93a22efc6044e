"""The app's click store, as flaskr's ``db.py``: opened by :func:`init_app`, found by
:func:`get_click_store`.

``create_app`` calls :func:`init_app` once; the ``/go`` views record clicks into the
store, ``/admin/stats`` and ``/healthz`` read it. The schema is created or migrated
on first use (the first click, stats or replay), so an app that serves no click never
touches the database; clicks spooled while it was down are replayed at start-up.
"""

from __future__ import annotations

from flask import Flask, current_app

from .settings import SettingsError
from .storage import ClickStore, open_click_store

EXTENSION = "clicks"  # app.extensions key


def init_app(app: Flask) -> ClickStore:
    """Open the click store for the app's settings and replay any spooled clicks."""
    seconds = {}
    for key in ("CLICK_BUDGET", "DATABASE_TIMEOUT", "SPOOL_REPLAY_INTERVAL"):
        # Numbers already (storefront.settings checked them); the range is ours to check.
        seconds[key] = float(app.config[key])
        if not 0 < seconds[key] <= 3600:
            raise SettingsError(
                f"STOREFRONT_{key}: '{app.config[key]}' must be more than 0 and at most "
                "3600 seconds"
            )
    store = open_click_store(
        app.config["DATABASE_URL"],
        app.instance_path,
        timeout=seconds["DATABASE_TIMEOUT"],
        budget=seconds["CLICK_BUDGET"],
        replay_interval=seconds["SPOOL_REPLAY_INTERVAL"],
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
