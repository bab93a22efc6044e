"""The sender: starts due announcements and hands their deliveries to the author's provider.

One :class:`Mailing` holds what a send needs (the outbox, the mail settings, the live
catalog, the public URLs and the key that signs unsubscribe links); :class:`Sender`
works through the outbox with it. The same code runs in two places:

* a background thread in each app server (:func:`init_app`: only when mail is
  configured and ``STOREFRONT_MAIL_SEND_INTERVAL`` is above 0; started in the process
  that serves, after gunicorn's fork, and restarted in a child if a parent forks);
* ``storefront readers send``, which sends what is due and exits (for cron).

Several of either at once are safe: the outbox's leases give each delivery to one sender,
and its shared pace keeps ``STOREFRONT_MAIL_RATE`` across all of them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from ..catalog import Catalog
from ..pricing import utcnow
from ..readers import recipients, suppress, unsubscribe_token
from ..urls import Urls
from .audience import still_subscribed
from .message import ListHeaders, compose
from .outbox import Batch, Delivery, Outbox, message_id
from .render import RenderedMail, render_announcement
from .settings import MailSettings, mail_settings
from .transport import (
    PermanentMailError,
    SmtpTransport,
    TemporaryMailError,
    UnsupportedAddressError,
)

logger = logging.getLogger(__name__)

# app.extensions keys: the outbox (always), the Mailing (when mail is configured), the thread.
OUTBOX = "outbox"
MAILING = "mailing"
SENDER = "mail_sender"
BATCH_SECONDS = 5.0  # a batch holds about this many seconds of sending at the rate
MAX_BATCH = 200
LEASE_MARGIN = 120.0  # seconds a lease outlives its batch's expected sending time
TROUBLE = 3  # temporary failures in a row that make the sender pause


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


class Sender:
    """Work through the outbox: due scheduled sends first, then batches of deliveries."""

    def __init__(
        self,
        mailing: Mailing,
        *,
        worker: str | None = None,
        lease_margin: float = LEASE_MARGIN,
        transport_factory: Callable[[MailSettings], SmtpTransport] = SmtpTransport,
    ):
        self.mailing = mailing
        self.outbox = mailing.outbox
        self.rate = float(mailing.settings.rate or 0)
        self.interval = 1.0 / self.rate if self.rate > 0 else 0.0  # the pace between messages
        self.per_message = 0.02  # seconds one message takes here (a moving average)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:64]
        self.lease_margin = lease_margin
        self.transport_factory = transport_factory
        self._snapshots: dict[int, dict] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.pause_until = 0.0

    # -- one pass

    def start_due(self) -> list[int]:
        """Start every scheduled announcement whose moment has come (any server may)."""
        started = []
        for announcement_id in self.outbox.due(self.mailing.clock()):
            if self.mailing.start(announcement_id) is not None:
                started.append(announcement_id)
        return started

    def run_once(self) -> tuple[int, float]:
        """Start what is due, then send one batch; ``(messages handled, seconds to wait)``."""
        self.start_due()
        if time.time() < self.pause_until:
            return 0, self.pause_until - time.time()
        # About BATCH_SECONDS of work, at the rate or as fast as messages really go out;
        # the lease covers twice that, plus the margin for one slow answer.
        spacing = max(self.interval, self.per_message)
        size = max(1, min(MAX_BATCH, int(BATCH_SECONDS / spacing)))
        batch = self.outbox.claim(
            self.worker,
            size,
            rate=self.rate,
            lease=2 * size * spacing + self.lease_margin,
            still_subscribed=still_subscribed,
        )
        if not batch.deliveries:
            self.outbox.finish(self.mailing.clock())
            return 0, batch.wait
        handled = self._send(batch)
        self.outbox.finish(self.mailing.clock())
        return handled, 0.0

    def run_until_idle(self, limit: float | None = None) -> int:
        """Send until nothing is due (for cron); return how many messages were handled."""
        total = 0
        deadline = None if limit is None else time.monotonic() + limit
        while not self._stop.is_set():
            handled, wait = self.run_once()
            total += handled
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not handled:
                if wait <= 0:
                    break
                time.sleep(min(wait, 1.0))
        return total

    def _send(self, batch: Batch) -> int:
        handled = 0
        trouble = 0
        guard = min(self.lease_margin / 2, 30.0)  # never start a message the lease may not cover
        remaining = list(batch.deliveries)
        with self.transport_factory(self.mailing.settings) as transport:
            while remaining:
                delivery = remaining[0]
                due = batch.start + handled * batch.interval
                if self._stop.is_set() or time.time() > batch.until - guard:
                    break
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                remaining.pop(0)
                handled += 1
                began = time.monotonic()
                ok = self._deliver(transport, delivery)
                self.per_message = 0.8 * self.per_message + 0.2 * (time.monotonic() - began)
                if ok:
                    trouble = 0
                    continue
                trouble += 1
                if trouble >= TROUBLE:
                    # The provider is struggling (or gone): give the rest back, pause.
                    self.pause_until = time.time() + min(300.0, 5.0 * 2**trouble)
                    logger.warning("mail: %s temporary failures in a row; pausing", trouble)
                    break
        self.outbox.release((d.id for d in remaining), self.worker)
        return handled

    def _deliver(self, transport, delivery: Delivery) -> bool:
        """Send one delivery and record the outcome; False on a temporary failure."""
        snapshot = self._snapshot(delivery.announcement_id)
        msgid = message_id(snapshot["token"], delivery.id, self.mailing.domain)
        now = self.mailing.clock
        try:
            msg = self.mailing.message(
                to=delivery.email, reader_id=delivery.reader_id, snapshot=snapshot, msgid=msgid
            )
            transport.send(msg)
        except UnsupportedAddressError as exc:
            # The address may be fine; this server cannot take it: not the reader's fault.
            self.outbox.refused(delivery, self.worker, str(exc), now(), suppress=None)
            return True
        except PermanentMailError as exc:
            self.outbox.refused(delivery, self.worker, str(exc), now(), suppress=suppress)
            return True
        except (TemporaryMailError, OSError) as exc:
            state = self.outbox.retry(delivery, self.worker, str(exc) or type(exc).__name__, now())
            logger.info("delivery %s: temporary failure (%s); %s", delivery.id, exc, state)
            return False
        except ValueError as exc:  # an address or header the message cannot carry
            self.outbox.refused(delivery, self.worker, f"cannot compose: {exc}", now(), None)
            return True
        self.outbox.sent(delivery, self.worker, msgid, now())
        return True

    def _snapshot(self, announcement_id: int) -> dict:
        snapshot = self._snapshots.get(announcement_id)
        if snapshot is None:
            snapshot = self.outbox.snapshot(announcement_id) or {}
            self._snapshots = {announcement_id: snapshot}  # one announcement's text at a time
        return snapshot

    # -- the background thread

    def start(self, interval: float) -> None:
        """Run :meth:`run_once` on a daemon thread, every ``interval`` seconds when idle."""
        self.poll = interval
        self._pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="storefront-mail", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (a send was just started)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                handled, wait = self.run_once()
                failures = 0
            except Exception:  # noqa: BLE001 - a database or provider hiccup: log, wait, retry
                failures += 1
                logger.exception("mail sender: pass failed (%s in a row)", failures)
                handled, wait = 0, min(300.0, self.poll * 2**failures)
            if not handled:
                self._wake.wait(max(wait, self.poll) if wait else self.poll)
                self._wake.clear()


_senders: weakref.WeakSet[Sender] = weakref.WeakSet()


def _after_fork() -> None:
    # Threads do not survive fork: a child of a process with a running sender runs its own.
    for sender in list(_senders):
        if sender._thread is not None and sender._pid != os.getpid():
            sender._snapshots = {}
            sender.outbox.engine.dispose(close=False)
            sender.start(sender.poll)


os.register_at_fork(after_in_child=_after_fork)


def start_sender(mailing: Mailing, interval: float) -> Sender:
    """Start a background sender for ``mailing``; it survives a fork (see :func:`_after_fork`)."""
    sender = Sender(mailing)
    sender.start(interval)
    _senders.add(sender)
    return sender


def init_app(app) -> Sender | None:
    """The outbox for every app; with mail configured, the Mailing and the sender thread.

    The thread starts only when ``STOREFRONT_MAIL_SEND_INTERVAL`` is above 0 and the app
    is not a test app; it only talks to the database and the provider, never to requests,
    so the fast path is untouched. gunicorn builds the app in each worker after its fork.
    """
    outbox = Outbox(app.extensions["clicks"].engine)  # the one engine, with its timeouts
    app.extensions[OUTBOX] = outbox
    settings = mail_settings(app.config)
    if settings is None:
        return None
    sf = app.extensions["storefront"]
    mailing = Mailing(
        outbox=outbox,
        settings=settings,
        catalog=lambda: sf.catalog,
        urls=sf.urls,
        secret_key=app.config["SECRET_KEY"],
        clock=utcnow,  # the real clock: STOREFRONT_NOW previews pages, it never sends mail
    )
    app.extensions[MAILING] = mailing
    interval = float(app.config.get("MAIL_SEND_INTERVAL") or 0)
    if interval <= 0 or app.testing:
        return None
    sender = start_sender(mailing, interval)
    app.extensions[SENDER] = sender
    return sender
