"""The words a reader agrees to, and their version (kept with every consent record).

Change the text and raise :data:`VERSION` together: each record keeps the exact text the
form showed, so earlier sign-ups keep proof of what they agreed to. The topics chosen
are kept beside it.
"""

from __future__ import annotations

VERSION = "1"
TEMPLATE = (
    "Send me an e-mail when {author} has news I chose above (a sale, a new book). "
    "I confirm from the first e-mail before anything else is sent, can leave with one click "
    "in every message, and my address is kept by {site} and shared with no one."
)


def consent_text(site_title: str, author: str) -> str:
    """The consent text shown beside every sign-up form of a site."""
    return TEMPLATE.format(author=author, site=site_title)
