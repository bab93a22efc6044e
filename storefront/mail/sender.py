"""The sender: starts due announcements and hands their deliveries to the author's provider.

One :class:`Mailing` holds what a send needs (the outbox, the mail settings, the live
catalog, the public URLs and the key that signs unsubscribe links); :class:`Sender`
works through the outbox with it. The same code runs in two places:

* a background thread in each app server (:func:`init_app`: only when mail is
  configured and ``STOREFRONT_MAIL_SEND_INTERVAL`` is above 0; started in the process
  that serves, after the server's fork, and restarted in a child if a parent forks);
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

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..pricing import utcnow
from ..readers import suppress
from .audience import still_subscribed
from .mailing import Mailing
from .outbox import Batch, Delivery, Outbox, message_id
from .settings import MailSettings, mail_settings
from .transport import (
    MailSetupError,
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
SETUP_PAUSE = 60.0  # seconds to wait after the provider refused the login, TLS or sender
BUSY_TRIES = 5  # claims refused in a row by a busy database before the error is raised
SENT_TRIES = 5  # commits of "sent" tried before the sender gives up (and the lease decides)


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
        self._busy = 0  # claims refused in a row by a busy database
        self.trouble = ""  # why the sender paused, if it did

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
        try:
            batch = self.outbox.claim(
                self.worker,
                size,
                rate=self.rate,
                lease=2 * size * spacing + self.lease_margin,
                still_subscribed=still_subscribed,
            )
        except OperationalError as exc:
            # A lock or statement timeout while other senders claim: try again shortly;
            # a database that stays away is the caller's to report.
            self._busy += 1
            if self._busy >= BUSY_TRIES:
                raise
            logger.info("mail: claim not possible now (%s); trying again", exc)
            return 0, 0.5 * self._busy
        self._busy = 0
        if not batch.deliveries:
            self.outbox.finish(self.mailing.clock())
            return 0, batch.wait
        handled = self._send(batch)
        self.outbox.finish(self.mailing.clock())
        return handled, 0.0

    def run_until_idle(self, limit: float | None = None) -> int:
        """Send until nothing is due (for cron); return how many messages were handled."""
        total = 0
        self.trouble = ""
        deadline = None if limit is None else time.monotonic() + limit
        while not self._stop.is_set():
            handled, wait = self.run_once()
            total += handled
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not handled:
                if wait <= 0 or time.time() < self.pause_until:
                    break  # nothing due, or the provider refuses us: the next run tries again
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
                try:
                    ok = self._deliver(transport, delivery)
                except MailSetupError as exc:
                    handled -= 1  # given back untried
                    self.pause_until = time.time() + SETUP_PAUSE
                    self.trouble = str(exc)
                    break
                self.per_message = 0.8 * self.per_message + 0.2 * (time.monotonic() - began)
                if ok:
                    trouble = 0
                    continue
                trouble += 1
                if trouble >= TROUBLE:
                    # The provider is struggling (or gone): give the rest back, pause.
                    self.pause_until = time.time() + min(300.0, 5.0 * 2**trouble)
                    self.trouble = f"{trouble} temporary failures in a row"
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
            data = self._fast(transport, snapshot, delivery, msgid)
            if data is not None:
                transport.send_bytes(delivery.email, data)
            else:
                msg = self.mailing.message(
                    to=delivery.email, reader_id=delivery.reader_id, snapshot=snapshot, msgid=msgid
                )
                transport.send(msg)
        except MailSetupError as exc:
            # The login, TLS or sender is wrong: the author's to fix, never the reader's.
            self.outbox.release([delivery.id], self.worker)
            logger.error("mail: cannot send (%s); pausing until it is fixed", exc)
            raise
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
        self._record_sent(delivery, msgid)
        return True

    def _fast(self, transport, snapshot: dict, delivery: Delivery, msgid: str) -> bytes | None:
        """The reader's message as bytes from the announcement's template, if both allow it.

        The template is composed once per announcement (kept with its snapshot); a
        transport without ``send_bytes``, or a message the template cannot carry exactly
        (see :class:`~storefront.mail.message.MessageTemplate`), is composed in full.
        """
        if not hasattr(transport, "send_bytes"):
            return None
        if "template" not in snapshot:
            snapshot["template"] = self.mailing.template(snapshot) if snapshot else None
        template = snapshot["template"]
        if template is None:
            return None
        return self.mailing.message_bytes(
            template, to=delivery.email, reader_id=delivery.reader_id, msgid=msgid
        )

    def _record_sent(self, delivery: Delivery, msgid: str) -> None:
        """Commit "sent" now; if the database hiccups, try again for a few seconds.

        Until this commits, a crash means the message goes again (with the same
        Message-ID) when the lease runs out: keep the window as short as the database lets.
        """
        for attempt in range(SENT_TRIES):
            try:
                self.outbox.sent(delivery, self.worker, msgid, self.mailing.clock())
                return
            except SQLAlchemyError:
                if attempt == SENT_TRIES - 1:
                    raise
                time.sleep(0.2 * 2**attempt)

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
    so the fast path is untouched. The server builds the app in each worker after its fork.
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
