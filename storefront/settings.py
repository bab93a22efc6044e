"""Read the ``STOREFRONT_*`` settings: raw strings in, checked values out, one clear error.

``create_app`` and the CLI (``serve``, ``stats``) read settings through here, so
a mistake in one is reported the same way everywhere: a :class:`SettingsError`
naming the setting and what is wrong, never a traceback from deep inside. Values
from the environment are taken as the text they are (Flask's
``from_prefixed_env`` would parse ``1.50`` as JSON, the number 1.5); a setting
whose default is a number is converted here and refused when it is not one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

PREFIX = "STOREFRONT_"
# `storefront serve --threads`: Python threads per Granian worker that run requests. A
# connection, slow or silent, costs the server's event loop, not one of these threads
# (docs/operations.md, "The server and its worker model"); a request holds one while the
# app runs, reading its body included.
DEFAULT_THREADS = 8
INSTANCE_ENV = "STOREFRONT_INSTANCE_PATH"


# Numeric settings where a negative value means something ("never reload"); every
# other number (seconds, counts) must be 0 or more.
NEGATIVE_ALLOWED = frozenset({"CATALOG_RELOAD_INTERVAL"})
# Seconds that must be more than 0 and at most an hour (a click's wait, the database's).
SECONDS = frozenset({"CLICK_BUDGET", "DATABASE_TIMEOUT", "SPOOL_REPLAY_INTERVAL"})


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it and says why."""


def instance_folder(explicit: str | os.PathLike | None = None) -> Path:
    """The instance folder: ``explicit``, else ``$STOREFRONT_INSTANCE_PATH``, else ``./instance``.

    ``./instance`` is relative to the working directory the command runs in (as
    the README says), not to wherever the package happens to be installed.
    """
    chosen = explicit or os.environ.get(INSTANCE_ENV) or "instance"
    return Path(chosen).expanduser().absolute()


def ensure_instance_folder(path: str | os.PathLike) -> Path:
    """Create the instance folder if needed, or raise :class:`SettingsError` saying why not."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SettingsError(
            f"cannot create the instance folder '{folder}': {reason} "
            f"(set {INSTANCE_ENV} to a folder this user may write)"
        ) from None
    return folder


def read_environ(names: list[str] | tuple[str, ...], environ: Mapping[str, str] | None = None):
    """``{NAME: text}`` for each ``STOREFRONT_<NAME>`` set in ``environ``: raw strings, unparsed."""
    env = os.environ if environ is None else environ
    return {name: env[PREFIX + name] for name in names if PREFIX + name in env}


def _is_number_default(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def coerce_settings(config: Mapping[str, object], defaults: Mapping[str, object]) -> dict:
    """Check and convert every setting in ``defaults`` found in ``config``.

    A setting whose default is a number must be a finite number (text such as
    ``"0.5"`` is converted), and not below 0 unless it is in ``NEGATIVE_ALLOWED``;
    a text setting given as a number becomes text.
    Returns the converted values; raises :class:`SettingsError` for the first bad one.
    """
    converted: dict[str, object] = {}
    for name, default in defaults.items():
        if name not in config:
            continue
        value = config[name]
        if _is_number_default(default):
            number = _number(name, value, int if isinstance(default, int) else float)
            if number < 0 and name not in NEGATIVE_ALLOWED:
                raise SettingsError(f"{PREFIX}{name}: '{value}' is below 0")
            if name in SECONDS and not 0 < number <= 3600:
                raise SettingsError(
                    f"{PREFIX}{name}: '{value}' must be more than 0 and at most 3600 seconds"
                )
            converted[name] = number
        elif _is_number_default(value):
            # An instance config.py may hold ADMIN_TOKEN = 150; a token is text all the same.
            converted[name] = str(value)
        else:
            converted[name] = value
    return converted


def _number(name: str, value: object, kind: type) -> float | int:
    text = value.strip() if isinstance(value, str) else value
    try:
        if isinstance(text, bool):
            raise ValueError
        number = float(text)
        if not math.isfinite(number):
            raise ValueError
    except (TypeError, ValueError):
        raise SettingsError(f"{PREFIX}{name}: '{value}' is not a number") from None
    if kind is int:
        if number != int(number):
            raise SettingsError(f"{PREFIX}{name}: '{value}' is not a whole number")
        return int(number)
    return number


def load_settings(defaults: Mapping[str, object], instance: str | os.PathLike) -> dict:
    """The settings ``create_app`` would use: defaults, ``instance/config.py``, ``STOREFRONT_*``.

    For commands that need them before (or without) an app, e.g. ``serve`` checking
    them once in the parent instead of in every worker.
    """
    config: dict[str, object] = dict(defaults)
    config.update(instance_config(instance))
    config.update(read_environ(tuple(defaults)))
    config.update(coerce_settings(config, defaults))
    return config


def instance_config(instance: str | os.PathLike) -> dict[str, object]:
    """The upper-case names ``instance/config.py`` sets (as Flask's ``from_pyfile`` reads them)."""
    import runpy

    path = Path(instance) / "config.py"
    if not path.is_file():
        return {}
    try:
        names = runpy.run_path(str(path))
    except Exception as exc:  # the author's file: one line, not their traceback
        raise SettingsError(f"{path}: {type(exc).__name__}: {exc}") from None
    return {key: value for key, value in names.items() if key.isupper()}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only: localhost, 127.x, ::1."""
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it goes in a URL: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
