"""Bench the announcement send: messages rendered and handed to a local SMTP server.

    python -m bench.bench_mail [--recipients 10000] [--rate 10000]

One announcement (the built-in sale) to ``--recipients`` confirmed readers in a SQLite
database in a temporary folder, sent by the real sender (outbox claims, per-message
commits, the shared pace at ``--rate`` messages per second) to aiosmtpd listening on
127.0.0.1 in its own process (it counts what it accepts). Prints:

- the start of the send (render once, snapshot every recipient) in seconds;
- composing alone: messages per second built and serialized, no SMTP, no database;
- the send: total seconds, messages per second, and the sender's resident memory
  sampled every 50 ms (at start, at 25/50/75/100% of the send, and the peak).

Target: 10,000 recipients in under 60 s on 2 cores, memory flat (the peak within a few
MB of the start).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from .base import REPO, BenchError

SERVER = """
import sys
from aiosmtpd.controller import Controller

class Count:
    accepted = 0

    async def handle_DATA(self, server, session, envelope):
        Count.accepted += 1
        return "250 2.0.0 queued"

controller = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()
print(Count.accepted, flush=True)
controller.stop()
"""
SENDER = "Robert Zimmerman <news@books.example.org>"


def rss_mb() -> float:
    """This process's resident memory now, in MB (from /proc)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """Sample RSS every ``interval`` seconds with the sent count, until stopped."""

    def __init__(self, progress, interval: float = 0.05):
        super().__init__(daemon=True)
        self.progress = progress
        self.interval = interval
        self.samples: list[tuple[int, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.samples.append((self.progress(), rss_mb()))
            self.done.wait(self.interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if server.stdout.readline().strip() != "ready":
        server.kill()
        raise BenchError("the SMTP server did not start")
    return server


def prepare(folder: Path, recipients: int, smtp_url: str, rate: float):
    """A database with ``recipients`` readers and a Mailing for the built-in catalog."""
    from sqlalchemy import insert

    from storefront.catalog import load_catalog
    from storefront.mail.outbox import Outbox
    from storefront.mail.sender import Mailing
    from storefront.mail.settings import mail_settings
    from storefront.pricing import utcnow
    from storefront.readers import readers
    from storefront.storage import make_engine
    from storefront.urls import Urls

    engine = make_engine(f"sqlite:///{folder / 'storefront.db'}", 5.0)
    outbox = Outbox(engine)
    outbox.ensure_schema()
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "email": f"reader{i:06d}@example.org",
            "status": "confirmed",
            "topics": "sales,new-books",
            "source": "form",
            "placement": "page",
            "created_at": now,
            "updated_at": now,
            "confirmed_at": now,
        }
        for i in range(recipients)
    ]
    with engine.begin() as conn:
        conn.execute(insert(readers), rows)
    catalog = load_catalog(None)
    settings = mail_settings({"SMTP_URL": smtp_url, "MAIL_FROM": SENDER, "MAIL_RATE": rate})
    urls = Urls("https://books.example.org")
    return Mailing(outbox, settings, lambda: catalog, urls, "bench-secret", utcnow), catalog, urls


def draft_id(mailing, catalog, urls) -> int:
    from storefront.mail.announce import draft_for

    draft = draft_for(
        catalog, urls, datetime(2026, 11, 25, tzinfo=UTC), "campaign", "apollo8-anniversary"
    )
    return mailing.outbox.create(
        kind=draft.kind,
        ref=draft.ref,
        campaign=draft.campaign,
        books=draft.books,
        topic=draft.topic,
        subject=draft.subject,
        markdown=draft.markdown,
        now=datetime.now(UTC),
    )


def bench_compose(mailing, announcement_id: int, count: int = 2000) -> float:
    """Messages per second composed and serialized (no SMTP, no database)."""
    from storefront.mail.outbox import message_id

    snapshot = mailing.outbox.snapshot(announcement_id)
    start = time.perf_counter()
    for i in range(count):
        msg = mailing.message(
            to=f"reader{i}@example.org",
            reader_id=i + 1,
            snapshot=snapshot,
            msgid=message_id(snapshot["token"], i + 1, mailing.domain),
        )
        msg.as_bytes()
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10_000, help="STOREFRONT_MAIL_RATE")
    args = parser.parse_args(argv)
    if args.recipients < 1:
        parser.error("--recipients must be at least 1")
    sys.path.insert(0, str(REPO))
    from storefront.mail.sender import Sender

    port = free_port()
    server = start_server(port)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as folder:
            smtp_url = f"smtp://127.0.0.1:{port}?security=none"
            mailing, catalog, urls = prepare(Path(folder), args.recipients, smtp_url, args.rate)
            announcement_id = draft_id(mailing, catalog, urls)
            started = time.perf_counter()
            queued = mailing.start(announcement_id)
            enqueue = time.perf_counter() - started
            composed = bench_compose(mailing, announcement_id)
            sender = Sender(mailing)
            sent = [0]
            sampler = Sampler(lambda: sent[0])
            base_rss = rss_mb()
            sampler.start()
            started = time.perf_counter()
            while mailing.outbox.progress(announcement_id)["pending"]:
                handled, wait = sender.run_once()
                sent[0] += handled
                if not handled:
                    time.sleep(max(wait, 0.01))
            seconds = time.perf_counter() - started
            sampler.done.set()
            sampler.join()
            progress = mailing.outbox.progress(announcement_id)
        server.stdin.close()
        accepted = int(server.stdout.readline().strip() or 0)
    finally:
        if server.poll() is None:
            server.wait(10)
    print(f"recipients: {queued:,}; the server accepted {accepted:,} ({progress['sent']:,} sent)")
    print(f"start of the send (render once, snapshot every recipient): {enqueue:.2f} s")
    print(f"composing alone: {composed:,.0f} messages/s")
    print(
        f"send: {seconds:.1f} s for {queued:,} messages, {queued / seconds:,.0f} messages/s "
        f"(rate limit {args.rate:g}/s); pid {os.getpid()}"
    )
    marks = []
    for share in (0.25, 0.5, 0.75, 1.0):
        at = next((mb for n, mb in sampler.samples if n >= share * queued), sampler.samples[-1][1])
        marks.append(f"{int(share * 100)}% {at:.1f}")
    peak = max(mb for _, mb in sampler.samples)
    print(f"RSS MB: start {base_rss:.1f}; {'; '.join(marks)}; peak {peak:.1f}")
    if accepted != queued:
        print("the server did not accept every message", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
