"""Every public URL Storefront prints is built here (one seam, as in Datasette).

Pages, cards, EPUB samples, flyers and QR codes all ask one :class:`Urls`
object, so buy links always go through the tracked ``/go/`` redirect and the
public base URL is applied in one place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

# Where a link was shown: the `src` of a tracked link. Anything else is "other".
PLACEMENTS = (
    "page",
    "card",
    "banner",
    "compact",
    "support",
    "epub",
    "flyer",
    "postcard",
    "bookmark",
    "qr",
    "social",
    "email",
    "shelf",
    "sheet",
    "press",
    "read",
    "signup",
    "other",
)
LAYOUTS = ("card", "banner", "compact", "support", "signup")
THEMES = ("light", "dark", "auto")
FLYER_SIZES = ("letter", "a4")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class SignupForm:
    """The reader list's sign-up form, as every page and card renders it.

    ``action`` is where it posts (the app, also from a static export); ``token()`` a
    fresh signed token of the instant the form was made (the minimum fill time);
    ``text`` and ``version`` the consent text the reader agrees to.
    """

    action: str
    token: Callable[[], str]
    text: str
    version: str
    #: Only a link to the app's sign-up page (a static export: the app signs its own
    #: fill-time tokens, so a form in a file could never carry a valid one).
    link_only: bool = False


class Urls:
    """Build public URLs under ``base_url`` (scheme and host, maybe a path prefix).

    Every method ends in :meth:`_maybe_absolute` (or :meth:`tracked` for buy links):
    the static export's subclass overrides those two to name files instead of routes.
    """

    #: Whether the URLs name the files of a static export rather than app routes
    #: (``widget.js`` then asks for one fragment file per layout and theme).
    static_files = False
    #: The sign-up form, or ``None`` when there is no reader list (no mail settings,
    #: or a static export with no app to post to): then no form or link is shown.
    signup: SignupForm | None = None

    def __init__(self, base_url: str = DEFAULT_BASE_URL):
        self.base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"Urls({self.base_url!r})"

    def absolute(self, path: str) -> str:
        """Turn a path from this object into an absolute URL."""
        return self.base_url + path if path.startswith("/") else path

    def _path(self, *parts: str, query: dict[str, str | None] | None = None) -> str:
        path = "/" + "/".join(quote(p, safe="") for p in parts)
        params = {k: v for k, v in (query or {}).items() if v}
        return f"{path}?{urlencode(params)}" if params else path

    def _maybe_absolute(self, path: str, absolute: bool) -> str:
        return self.absolute(path) if absolute else path

    def tracked(self, path: str, absolute: bool) -> str:
        """Finish a ``/go/`` path: the one hook for where buy links lead.

        The static export overrides it to send buy links to a click server or
        straight to the vendor.
        """
        return self._maybe_absolute(path, absolute)

    def index(self, *, absolute: bool = False) -> str:
        return self._maybe_absolute("/", absolute)

    def book(self, book: str, *, absolute: bool = False) -> str:
        return self._maybe_absolute(self._path("books", book), absolute)

    def go(
        self,
        book: str,
        offer: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """The tracked redirect to one offer; ``src`` is the placement, ``campaign`` a slug."""
        path = self._path("go", book, offer, query={"src": src, "c": campaign})
        return self.tracked(path, absolute)

    def chooser(
        self,
        book: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """The universal link: a store chooser for the reader's country."""
        path = self._path("go", book, query={"src": src, "c": campaign})
        return self.tracked(path, absolute)

    def choose(
        self,
        book: str,
        offer: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """A store picked on the chooser: the tracked redirect that also remembers the pick."""
        query = {"src": src, "c": campaign, "remember": "1"}
        return self.tracked(self._path("go", book, offer, query=query), absolute)

    def choose_again(
        self,
        book: str,
        *,
        forget: bool = False,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """The chooser even when a store was remembered (``forget``: and drop the memory)."""
        query = {"src": src, "c": campaign, "forget" if forget else "choose": "1"}
        return self.tracked(self._path("go", book, query=query), absolute)

    def cover(self, book: str, *, absolute: bool = False) -> str:
        return self._maybe_absolute(self._path("books", book, "cover"), absolute)

    def counted(self, parts: tuple[str, ...], query: dict[str, str | None], absolute: bool) -> str:
        """Finish a sample or reading-page URL whose ``src``/``c`` count where it was shown.

        The static export overrides it: a static file counts nothing, so it drops the query.
        """
        return self._maybe_absolute(self._path(*parts, query=query), absolute)

    def sample(
        self,
        book: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        query = {"src": src, "c": campaign}
        return self.counted(("books", book, "sample.epub"), query, absolute)

    def audio_sample(
        self,
        book: str,
        extension: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """The audiobook's sample to listen to: ``/books/<book>/sample.<mp3|m4a|ogg>``."""
        query = {"src": src, "c": campaign}
        return self.counted(("books", book, f"sample.{extension}"), query, absolute)

    def read(
        self,
        book: str,
        *,
        src: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        """The sample as a web page to read at once: ``/books/<book>/read``."""
        return self.counted(("books", book, "read"), {"src": src, "c": campaign}, absolute)

    def flyer(
        self,
        book: str,
        *,
        size: str | None = None,
        campaign: str | None = None,
        absolute: bool = False,
    ) -> str:
        path = self._path("books", book, "flyer.pdf", query={"size": size, "campaign": campaign})
        return self._maybe_absolute(path, absolute)

    def social_image(self, book: str, *, absolute: bool = True) -> str:
        return self._maybe_absolute(self._path("books", book, "social.png"), absolute)

    def embed(
        self,
        book: str,
        *,
        layout: str | None = None,
        theme: str | None = None,
        absolute: bool = True,
    ) -> str:
        path = self._path("embed", book, query={"layout": layout, "theme": theme})
        return self._maybe_absolute(path, absolute)

    def fragment(
        self,
        book: str,
        *,
        layout: str | None = None,
        theme: str | None = None,
        absolute: bool = True,
    ) -> str:
        """The card's markup and style alone, which ``widget.js`` puts in a shadow root."""
        path = self._path("embed", book, "fragment", query={"layout": layout, "theme": theme})
        return self._maybe_absolute(path, absolute)

    def widget_js(self, *, absolute: bool = True) -> str:
        return self._maybe_absolute("/widget.js", absolute)

    def oembed(self, url: str | None = None, *, absolute: bool = True) -> str:
        path = self._path("oembed", query={"url": url, "format": "json" if url else None})
        return self._maybe_absolute(path, absolute)

    # -- the shelf (authors, series, the shelf card) and what the web expects

    def author(self, author: str, *, absolute: bool = False) -> str:
        return self._maybe_absolute(self._path("authors", author), absolute)

    def author_photo(self, author: str, suffix: str, *, absolute: bool = False) -> str:
        """The author's photo, ``/authors/<author>/photo.<jpg|png>``."""
        return self._maybe_absolute(self._path("authors", author, f"photo.{suffix}"), absolute)

    def series(self, series: str, *, absolute: bool = False) -> str:
        return self._maybe_absolute(self._path("series", series), absolute)

    def shelf_embed(
        self, *, author: str | None = None, series: str | None = None, absolute: bool = True
    ) -> str:
        """The shelf card: several books (``author``'s, one ``series``'s, or every one)."""
        path = self._path("embed", "shelf", query={"author": author, "series": series})
        return self._maybe_absolute(path, absolute)

    def shelf_fragment(
        self, *, author: str | None = None, series: str | None = None, absolute: bool = True
    ) -> str:
        """The shelf card's markup and style alone, for ``widget.js``."""
        query = {"author": author, "series": series}
        return self._maybe_absolute(self._path("embed", "shelf", "fragment", query=query), absolute)

    def press(self, book: str | None = None, *, absolute: bool = False) -> str:
        """The press kit's page: ``/press`` (every book) or ``/books/<book>/press``."""
        path = self._path("books", book, "press") if book else "/press"
        return self._maybe_absolute(path, absolute)

    def press_kit(self, book: str | None = None, *, absolute: bool = False) -> str:
        """The press kit as one ZIP: ``/press/kit.zip`` or ``/books/<book>/press/kit.zip``."""
        path = self._path("books", book, "press", "kit.zip") if book else "/press/kit.zip"
        return self._maybe_absolute(path, absolute)

    def press_cover(self, book: str, extension: str, *, absolute: bool = False) -> str:
        """The high-resolution cover: ``/books/<book>/press/cover.<png|jpg>``."""
        path = self._path("books", book, "press", f"cover.{extension}")
        return self._maybe_absolute(path, absolute)

    def press_sheet(self, book: str, *, absolute: bool = False) -> str:
        """The one-page press sheet: ``/books/<book>/press/sheet.pdf``."""
        return self._maybe_absolute(self._path("books", book, "press", "sheet.pdf"), absolute)

    def sitemap(self, *, absolute: bool = True) -> str:
        return self._maybe_absolute("/sitemap.xml", absolute)

    def robots(self, *, absolute: bool = True) -> str:
        return self._maybe_absolute("/robots.txt", absolute)

    def feed(self, *, absolute: bool = True) -> str:
        return self._maybe_absolute("/feed.atom", absolute)

    def favicon(self, *, absolute: bool = False) -> str:
        return self._maybe_absolute("/favicon.ico", absolute)

    # -- the reader list (always the app's routes: a static export posts to the app)

    def reader_subscribe(
        self, *, book: str | None = None, src: str | None = None, absolute: bool = True
    ) -> str:
        """``/readers/subscribe``: the sign-up page (GET), where every form posts (POST).

        Links to it leave the app's routes alone even in a static export (the form
        needs the app); ``signup.action`` is the form's own target.
        """
        path = self._path("readers", "subscribe", query={"book": book, "src": src})
        if self.signup is not None and self.signup.action.endswith("/readers/subscribe"):
            return self.signup.action[: -len("/readers/subscribe")] + path
        return self.absolute(path) if absolute else path

    def reader_confirm(self, token: str, *, absolute: bool = True) -> str:
        """The link in the confirmation e-mail: a page whose button confirms."""
        path = self._path("readers", "confirm", token)
        return self.absolute(path) if absolute else path

    def reader_unsubscribe(self, token: str, *, absolute: bool = True) -> str:
        """A reader's unsubscribe URL (the body's link and ``List-Unsubscribe``)."""
        path = self._path("readers", "unsubscribe", token)
        return self.absolute(path) if absolute else path


# --------------------------------------------------------------------------- proofs
# Whether a printed piece is a proof: the one rule for every piece that carries a printed
# URL or QR code (flyers, postcards, bookmarks, the social image, the backlist and press
# sheets) and for the desk. Without a public address (no STOREFRONT_BASE_URL, site.base_url
# or --base-url) links point at http://127.0.0.1:8000 and a print run has a dead QR code on
# every page: the piece says on every page that it is a proof, the command says why.

BASE_URL_SETTING = "STOREFRONT_BASE_URL"
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test")


@dataclass(frozen=True)
class Proof:
    """A piece built on a private address: what to print on it and what to tell the author."""

    base_url: str
    host: str  # "127.0.0.1:8000"

    @property
    def mark(self) -> str:
        """The line printed on every page of the piece."""
        return f"PROOF — links point to {self.host}; set {BASE_URL_SETTING} to print"

    @property
    def warning(self) -> str:
        """The command's one-line warning (without the ``warning:`` prefix)."""
        return (
            f"no public address: QR codes and links point to {self.host}, so every page is "
            f"marked PROOF; set {BASE_URL_SETTING}, site.base_url or --base-url"
        )


def is_public_address(base_url: str) -> bool:
    """Whether readers elsewhere can reach ``base_url``: not loopback, private or local."""
    host = (urlsplit(base_url).hostname or "").rstrip(".").lower()
    if not host or host in _LOCAL_NAMES or host.endswith(_LOCAL_SUFFIXES) or "." not in host:
        try:
            ipaddress.ip_address(host)  # an IPv6 literal has no dot
        except ValueError:
            return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True
    return not (
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified or ip.is_reserved
    )


def print_proof(base_url: str) -> Proof | None:
    """Return the :class:`Proof` for pieces built on ``base_url``, or None for a public one."""
    if is_public_address(base_url):
        return None
    return Proof(base_url=base_url, host=urlsplit(base_url).netloc or base_url)
