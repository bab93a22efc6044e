"""What sending needs, however the process was started: the :class:`Mailing`.

It holds the outbox, the mail settings, the live catalog, the public URLs and the key
that signs unsubscribe links; it renders an announcement, starts a send (the snapshot of
the message and its recipients) and makes one reader's message from the snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from ..catalog import Catalog
from ..readers import recipients, unsubscribe_token
from ..urls import Urls
from .message import ListHeaders, compose
from .outbox import Outbox, message_id
from .render import RenderedMail, render_announcement
from .settings import MailSettings
from .transport import SmtpTransport

logger = logging.getLogger(__name__)


@dataclass
class Mailing:
    """What sending needs, however the process was started (app server or command)."""

    outbox: Outbox
    settings: MailSettings
    catalog: Callable[[], Catalog]  # the live catalog
    urls: Urls
    secret_key: str
    clock: Callable[[], datetime]

    @property
    def domain(self) -> str:
        return self.settings.sender_domain or "localhost"

    def render(self, announcement: dict) -> RenderedMail:
        """The announcement as it will arrive, from the catalog as it is now."""
        return render_announcement(
            announcement["markdown"],
            announcement["subject"],
            catalog=self.catalog(),
            urls=self.urls,
            campaign=announcement["campaign"],
        )

    def start(self, announcement_id: int) -> int | None:
        """Start sending now: render, then snapshot it and its recipients (see Outbox.start)."""
        announcement = self.outbox.get(announcement_id)
        if announcement is None or announcement["status"] not in ("draft", "scheduled"):
            return None
        rendered = self.render(announcement)
        topic = announcement["topic"]
        books = announcement["books"].split()

        def who(conn):
            # A reader who chose one book hears only of that book; each reader once.
            for book in books or [None]:
                for r in recipients(conn, topic=topic, book=book):
                    yield r.id, r.email

        started = self.outbox.start(
            announcement_id,
            html=rendered.html,
            text=rendered.text,
            subject=rendered.subject,
            recipients=who,
            now=self.clock(),
        )
        if started is not None:
            logger.info("announcement %s: sending to %s reader(s)", announcement_id, started)
        return started

    def unsubscribe_url(self, reader_id: int) -> str:
        token = unsubscribe_token(self.secret_key, reader_id)
        return self.urls.reader_unsubscribe(token, absolute=True)

    def message(
        self,
        *,
        to: str,
        reader_id: int | None,
        snapshot: dict,
        msgid: str,
        subject_prefix: str = "",
    ) -> EmailMessage:
        """The e-mail for one reader (or for the author's test: ``reader_id`` None)."""
        rendered = RenderedMail(snapshot["subject"], snapshot["html"], snapshot["text"], (), (), ())
        if reader_id is None:
            link = self.urls.index(absolute=True)  # a test: no reader to unsubscribe
        else:
            link = self.unsubscribe_url(reader_id)
        text, html = rendered.personal(link)
        headers = ListHeaders(
            list_id=f"{self.catalog().site.title} <readers.{self.domain}>",
            unsubscribe_https=link,
            unsubscribe_mailto=f"mailto:{self.settings.sender_address}?subject=unsubscribe",
        )
        msg = compose(
            subject=subject_prefix + snapshot["subject"],
            sender=self.settings.sender,
            to=to,
            text=text,
            html=html,
            list_headers=headers if reader_id is not None else None,
        )
        del msg["Message-ID"]
        msg["Message-ID"] = msgid
        return msg

    def send_test(self, announcement_id: int, to: str) -> str:
        """Send the author one copy as it will arrive (subject marked ``[Test]``); its id."""
        announcement = self.outbox.get(announcement_id)
        if announcement is None:
            raise LookupError(f"no announcement {announcement_id}")
        rendered = self.render(announcement)
        snapshot = {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}
        msgid = message_id(
            f"test{announcement['token']}{int(time.time())}", announcement_id, self.domain
        )
        msg = self.message(
            to=to, reader_id=None, snapshot=snapshot, msgid=msgid, subject_prefix="[Test] "
        )
        with SmtpTransport(self.settings) as transport:
            transport.send(msg)
        return msgid
