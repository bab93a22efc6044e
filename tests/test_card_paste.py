"""The static snippet's text survives WordPress's content filters (``widgets.card_paste``).

The filters themselves run in a real WordPress in ``tests/test_wordpress.py``; here, each
thing they would change is checked one by one: the text a browser shows stays the same and
the source no longer holds what the filter matches.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from widgets.card_paste import keep_as_pasted


def shown(html: str) -> str:
    return BeautifulSoup(html, "html.parser").get_text()


@pytest.mark.parametrize(
    ("text", "wordpress_matches"),
    [
        ("the moon... Zimmerman", r"\.\.\."),  # wptexturize: ellipsis
        ("Apollo 8 -- the first", r"--"),  # en and em dashes
        ("Dec 21 - Dec 27", r" - "),
        ("a 6x9 paperback", r"\dx\d"),  # multiplication sign
        ("Storefront (tm) edition", r"\(tm\)"),
        ("``quoted''", r"``|''"),  # curly quotes
        ('it\'s "fine"', r"['\"]"),
        ("see chapter 8) now", r"(?<!\S)8\)"),  # convert_smilies: an image
        ("great read :) really", r"(?<!\S):\)"),
        ("a wink ;)", r"(?<!\S);\)"),
        ("[gallery] here", r"\[gallery\]"),  # do_shortcode
        ("first line\nsecond line", r"\n"),  # wpautop: <br />
    ],
)
def test_text_wordpress_would_change_is_written_as_references(text, wordpress_matches):
    html = f'<p style="margin:0">{text}</p>'
    kept = keep_as_pasted(html)
    assert shown(kept) == shown(html)
    source_text = re.sub(r"<[^>]*>", "", kept)
    assert not re.search(wordpress_matches, source_text), kept


def test_tags_attributes_entities_and_plain_words_are_kept_as_they_are():
    html = (
        '<aside style="margin:0 -1px" aria-label="A -- B..." data-layout="card">\n'
        '<p style="a:b">Express-News &amp; co&nbsp;&#8212; &ldquo;Genesis&rdquo; 8 x 9.</p>\n'
        "</aside>"
    )
    assert keep_as_pasted(html) == html
