"""The grammars of the response headers that carry catalog values.

Checked by ``storefront check`` so that no catalog value can change the meaning
of a header it ends up in:

- ``Content-Security-Policy: frame-ancestors …`` gets each ``site.frame_ancestors``
  entry: it must be one ancestor-source of CSP Level 3 (a host-source such as
  ``https://blog.example`` or ``*.blog.example``, a scheme-source such as
  ``https:``, ``*``, ``'self'``, or ``'none'`` alone); a space, ``;`` or ``,``
  would start another source or directive.
- ``Location`` and the card's ``img-src`` get URLs: their host must be a DNS
  name (IDNA allowed) or an IP literal, with no user name or password and a
  numeric port.
- ``Content-Disposition`` file names are built from slugs only, which are
  tokens of RFC 9110 by construction (``SLUG_RE``).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult

from .errors import Invalid

_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*"
_CSP_HOST = r"(?:\*|(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)"
_CSP_SCHEME_SOURCE = re.compile(rf"^{_SCHEME}:$")
_CSP_HOST_SOURCE = re.compile(
    rf"^(?:(?P<scheme>{_SCHEME})://)?(?P<host>{_CSP_HOST})(?::(?P<port>[0-9]+|\*))?(?P<path>/.*)?$"
)
_CSP_KEYWORDS = ("'self'", "'none'")
_SEPARATORS = {" ": "a space", "\t": "a tab", "\n": "a line break", ";": "';'", ",": "','"}
_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")


def csp_ancestor_source(value: str) -> str:
    """``value`` as one frame-ancestors source (an http(s) origin loses a bare ``/``)."""
    separators = [name for char, name in _SEPARATORS.items() if char in value]
    if separators:
        raise Invalid(
            f"'{value}' is not one Content-Security-Policy source: {' and '.join(separators)} "
            "would end it (write each origin as its own entry, such as https://blog.example)"
        )
    if value == "*" or value in _CSP_KEYWORDS or _CSP_SCHEME_SOURCE.match(value):
        return value
    m = _CSP_HOST_SOURCE.match(value)
    if not m or (m.group("path") or "/") != "/" or not m.group("host").isascii():
        raise Invalid(
            f"'{value}' is not a Content-Security-Policy source such as https://example.com, "
            "*.example.com, https:, '*', \"'self'\" or \"'none'\""
        )
    scheme = f"{m.group('scheme')}://" if m.group("scheme") else ""
    port = f":{m.group('port')}" if m.group("port") else ""
    return f"{scheme}{m.group('host')}{port}"


def check_ancestor_list(sources: tuple[str, ...]) -> tuple[str, ...]:
    """A frame-ancestors list: ``'none'`` means nothing else may be listed."""
    if "'none'" in sources and len(sources) > 1:
        raise Invalid("\"'none'\" must be the only entry (it forbids every other source)")
    return sources


def check_url_host(url: str, parts: SplitResult) -> None:
    """Refuse a URL whose authority is not a host name or IP literal with a numeric port."""
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"'{url}' has a user name or password before the host")
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise Invalid(f"'{url}' has a port that is not a number from 0 to 65535") from None
    host = parts.hostname or ""
    if "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host.split("%")[0])
        except ValueError:
            raise Invalid(f"'{url}' has a bracketed host that is not an IPv6 address") from None
        return
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not _DNS_NAME.match(ascii_host.lower()):
        raise Invalid(f"'{url}' has no valid host name ('{host}' is not one)")
