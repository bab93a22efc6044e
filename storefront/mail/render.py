"""Turn an announcement's Markdown into the e-mail readers get: HTML (styles inlined) and text.

The author's Markdown goes through markdown-it-py with raw HTML off (a ``<tag>`` in it is
shown as text), its links and images are rewritten, the HTML is cleaned by nh3 and laid
into ``templates/mail/announcement.html``, whose one stylesheet css-inline moves into
``style`` attributes (mail clients drop ``<style>``). The plain-text part is rendered
from the same tokens, so both parts say the same thing.

Links, in one rule (:func:`email_link`): a link to ``/go/<book>/<offer>``, to ``/go/<book>``,
to a book's page or to a store URL from the catalog becomes the tracked redirect with
``src=email`` and the campaign (``c=``), so ``storefront stats`` counts what the e-mail
sold; any other link is removed (its words stay) and reported, so an e-mail never leads
anywhere the catalog does not. Images: only a book's cover or social image from this site.

The footer carries the author's postal address from the catalog (``site.postal_address``)
and a visible unsubscribe link; the reader's own link replaces :data:`UNSUBSCRIBE` in the
rendered parts (:meth:`RenderedMail.personal`), so a send renders once, not per reader.
"""

from __future__ import annotations

import html as html_lib
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit

import css_inline
import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode
from markupsafe import Markup

from ..catalog import Catalog
from ..templating import render
from ..urls import Urls

# Stands in for the reader's unsubscribe URL until RenderedMail.personal puts it in.
UNSUBSCRIBE = "https://unsubscribe.invalid/storefront-reader-link"
SRC = "email"  # the placement every link carries
WIDTH = 72  # columns of the plain-text part

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}


@dataclass(frozen=True)
class RenderedMail:
    """An announcement as it will arrive, with :data:`UNSUBSCRIBE` for the reader's link.

    ``links``: every link of the HTML part (the unsubscribe link as :data:`UNSUBSCRIBE`);
    ``removed``: the links and images the author wrote that cannot go out, for the desk.
    """

    subject: str
    html: str
    text: str
    links: tuple[str, ...]
    removed: tuple[str, ...]
    warnings: tuple[str, ...]

    def personal(self, unsubscribe_url: str) -> tuple[str, str]:
        """``(text, html)`` for one reader: their own unsubscribe link put in."""
        return (
            self.text.replace(UNSUBSCRIBE, unsubscribe_url),
            self.html.replace(UNSUBSCRIBE, html_lib.escape(unsubscribe_url, quote=True)),
        )


@cache
def _markdown() -> MarkdownIt:
    # CommonMark with tables and ~~strike~~; raw HTML is text, bare URLs are not links.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


class LinkRules:
    """Where each link and image of an announcement may lead (see the module docs)."""

    def __init__(self, catalog: Catalog, urls: Urls, campaign: str | None):
        self.catalog = catalog
        self.urls = urls
        self.campaign = campaign if campaign and catalog.campaign(campaign) else None
        base = urlsplit(urls.base_url)
        self._host = (base.scheme.lower(), base.netloc.lower())
        self._prefix = base.path.rstrip("/")
        self._stores: dict[str, tuple[str, str]] = {}
        for book in catalog.books:
            for offer in book.offers:
                for url in (offer.url, *offer.countries.values()):
                    self._stores.setdefault(_normal(url), (book.slug, offer.slug))

    def site_path(self, href: str) -> list[str] | None:
        """The path segments of ``href`` when it is a URL of this site, else None."""
        try:
            parts = urlsplit(href.strip())
        except ValueError:
            return None
        if not parts.scheme and not parts.netloc and parts.path.startswith("/"):
            path = parts.path
        elif (parts.scheme.lower(), parts.netloc.lower()) == self._host and (
            parts.path.startswith(self._prefix + "/")
        ):
            path = parts.path[len(self._prefix) :]
        else:
            return None
        return [unquote(s) for s in path.strip("/").split("/")]

    def link(self, href: str) -> str | None:
        """The tracked URL ``href`` becomes in the e-mail, or None (the link is removed)."""
        c, urls = self.campaign, self.urls
        segments = self.site_path(href)
        if segments is not None:
            book = self.catalog.book(segments[1]) if len(segments) >= 2 else None
            if book is None:
                return None
            if segments[0] == "go" and len(segments) == 3 and book.offer(segments[2]):
                return urls.go(book.slug, segments[2], src=SRC, campaign=c, absolute=True)
            if segments[0] in ("go", "books") and len(segments) == 2:
                return urls.chooser(book.slug, src=SRC, campaign=c, absolute=True)
            return None
        store = self._stores.get(_normal(href))
        if store is not None:
            return urls.go(*store, src=SRC, campaign=c, absolute=True)
        return None

    def image(self, src: str) -> str | None:
        """The absolute URL of a book's cover or social image of this site, else None."""
        segments = self.site_path(src)
        if (
            segments is not None
            and len(segments) == 3
            and segments[0] == "books"
            and self.catalog.book(segments[1]) is not None
            and segments[2] in ("cover", "social.png")
        ):
            book = segments[1]
            if segments[2] == "cover":
                return self.urls.cover(book, absolute=True)
            return self.urls.social_image(book, absolute=True)
        return None


def _normal(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


def render_announcement(
    markdown: str, subject: str, *, catalog: Catalog, urls: Urls, campaign: str | None
) -> RenderedMail:
    """Render the author's ``markdown`` as the e-mail every reader gets (see the module docs)."""
    rules = LinkRules(catalog, urls, campaign)
    md = _markdown()
    tokens = md.parse(markdown.replace(UNSUBSCRIBE, ""))
    removed: list[str] = []
    _rewrite(tokens, rules, removed)
    body = nh3.clean(
        md.renderer.render(tokens, md.options, {}),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http"},
        link_rel=None,
        strip_comments=True,
    )
    site = catalog.site
    footer = {
        "site": site,
        "unsubscribe": UNSUBSCRIBE,
        "address": tuple(_BARE_URL.sub("", line) for line in site.postal_address),
    }
    page = render(
        "mail/announcement.html",
        subject=subject,
        body=Markup(body),  # safe: nh3's allow-listed output of Markdown without raw HTML
        **footer,
    )
    html = _inliner().inline(page)
    links = _hrefs(html)
    # Link words can hold a URL (a vendor named by one): in text, only the real links stay.
    body_text = _BARE_URL.sub(lambda m: m[0] if m[0] in links else "", render_text(tokens).rstrip())
    text = render("mail/announcement.txt", body=body_text, **footer)
    warnings = []
    if not site.postal_address:
        warnings.append(
            "The catalog has no postal address (site.postal_address): the law in the US "
            "(CAN-SPAM) asks for one in every message."
        )
    if removed:
        warnings.append(
            "Links and images that lead nowhere in the catalog were removed: " + ", ".join(removed)
        )
    return RenderedMail(
        subject=subject,
        html=html,
        text=text.strip() + "\n",
        links=tuple(links),
        removed=tuple(removed),
        warnings=tuple(warnings),
    )


def _rewrite(tokens: list[Token], rules: LinkRules, removed: list[str]) -> None:
    """Point every link and image where :class:`LinkRules` says, or drop it (words kept).

    A URL written as plain text would be made a link by the reader's mail client, so it
    is a link here too: tracked when it can be, removed when it cannot (as a removed
    ``<autolink>``, whose words are the URL itself).
    """
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        kept: list[Token] = []
        open_links: list[bool] = []
        hiding = False  # inside a removed autolink: its text is the URL
        for child in token.children:
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                target = rules.link(href)
                open_links.append(target is not None)
                if target is None:
                    removed.append(href)
                    hiding = child.markup == "autolink"
                    continue
                child.attrSet("href", target)
            elif child.type == "link_close":
                hiding = False
                if not (open_links.pop() if open_links else False):
                    continue
            elif hiding:
                continue
            elif child.type == "image":
                src = str(child.attrGet("src") or "")
                target = rules.image(src)
                _strip_urls(child)
                if target is None:
                    removed.append(src)
                    kept.append(Token("text", "", 0, content=child.content))
                    continue
                child.attrSet("src", target)
            elif child.type == "text" and not any(open_links) and _BARE_URL.search(child.content):
                kept.extend(_bare_urls(child.content, rules, removed))
                continue
            kept.append(child)
        token.children = kept


_BARE_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>()]*[^\s<>().,;:!?'\"]")


def _strip_urls(image: Token) -> None:
    """An image's words (alt text) with no URL a mail client could make a link of."""
    image.content = _BARE_URL.sub("", image.content)
    for child in image.children or []:
        child.content = _BARE_URL.sub("", child.content)


def _bare_urls(text: str, rules: LinkRules, removed: list[str]) -> list[Token]:
    out: list[Token] = []
    last = 0
    for match in _BARE_URL.finditer(text):
        out.append(Token("text", "", 0, content=text[last : match.start()]))
        url = match.group(0)
        target = rules.link(url)
        if target is None:
            removed.append(url)
        else:
            link = Token("link_open", "a", 1, attrs={"href": target})
            out += [link, Token("text", "", 0, content=url), Token("link_close", "a", -1)]
        last = match.end()
    out.append(Token("text", "", 0, content=text[last:]))
    return out


def _hrefs(html: str) -> list[str]:
    from lxml import html as lxml_html

    tree = lxml_html.document_fromstring(html)
    return [a.get("href") for a in tree.iter("a") if a.get("href")]


# ---------------------------------------------------------------- the plain-text part


def render_text(tokens: list[Token]) -> str:
    """The text part: the same blocks, links as ``words (URL)``, wrapped at :data:`WIDTH`."""
    tree = SyntaxTreeNode(tokens)
    return "\n\n".join(b for b in (_block(node, WIDTH) for node in tree.children) if b)


def _wrap(text: str, width: int) -> str:
    lines = []
    for line in text.split("\n"):
        lines.append(
            textwrap.fill(line, max(20, width), break_long_words=False, break_on_hyphens=False)
            or ""
        )
    return "\n".join(lines)


def _block(node: SyntaxTreeNode, width: int) -> str:
    kind = node.type
    if kind == "heading":
        text = _inline(node.children[0]) if node.children else ""
        mark = "=" if node.tag == "h1" else "-"
        return f"{text}\n{mark * min(width, max(3, len(text)))}"
    if kind == "paragraph":
        return _wrap(_inline(node.children[0]) if node.children else "", width)
    if kind in ("bullet_list", "ordered_list"):
        start = int(node.attrs.get("start", 1) or 1)
        items = []
        for i, item in enumerate(node.children):
            mark = "-" if kind == "bullet_list" else f"{start + i}."
            inner = "\n\n".join(_block(c, width - len(mark) - 1) for c in item.children)
            pad = " " * (len(mark) + 1)
            lines = inner.split("\n")
            items.append(
                "\n".join([f"{mark} {lines[0]}", *(pad + x if x else x for x in lines[1:])])
            )
        tight = all(not c.children or c.children[0].hidden for c in node.children)
        return ("\n" if tight else "\n\n").join(items)
    if kind == "blockquote":
        inner = "\n\n".join(_block(c, width - 2) for c in node.children)
        return "\n".join(f"> {x}" if x else ">" for x in inner.split("\n"))
    if kind in ("code_block", "fence"):
        return "\n".join("    " + x for x in node.content.rstrip("\n").split("\n"))
    if kind == "hr":
        return "-" * 20
    if kind == "table":
        rows = [
            " | ".join(_inline(cell.children[0]) if cell.children else "" for cell in tr.children)
            for section in node.children
            for tr in section.children
        ]
        return "\n".join(rows)
    return "\n\n".join(_block(c, width) for c in node.children)


def _inline(node: SyntaxTreeNode) -> str:
    out: list[str] = []
    for child in node.children:
        kind = child.type
        if kind == "text":
            out.append(child.content)
        elif kind == "code_inline":
            out.append(child.content)
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "image":
            out.append(f"[{child.content}]" if child.content else "")
        elif kind == "link":
            words = _inline(child)
            href = str(child.attrs.get("href", ""))
            out.append(href if words.strip() in ("", href) else f"{words} ({href})")
        else:  # em, strong, s: their words
            out.append(_inline(child))
    return "".join(out)
