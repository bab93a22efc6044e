"""Bench the announcement send: messages rendered and handed to a local SMTP server.

    python -m bench.bench_mail [--recipients 10000] [--senders 2] [--rate 10000]

One announcement (the built-in sale) to ``--recipients`` confirmed readers in a SQLite
database in a temporary folder, sent by ``--senders`` processes each running the real
sender (as each worker of ``storefront serve`` does: outbox claims with leases, a commit
per message, the shared pace at ``--rate`` messages per second) to aiosmtpd on
127.0.0.1 in a process of its own (it counts what it accepts). Prints:

- the start of the send (render once, snapshot every recipient) in seconds;
- making messages alone: messages per second in one process, no SMTP, from the
  announcement's template (as the sender does) and composed in full by ``email``;
- the send: seconds, messages per second, the senders' CPU per message, and the
  largest sender's resident memory sampled every 50 ms (at 0/25/50/75/100% of the
  send, and its peak).

Target: 10,000 recipients in under 60 s on 2 cores, memory flat.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
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
# One sender process, as each app server worker runs one: the real Sender until no
# delivery is pending; it prints the CPU seconds the send used (after its start-up).
CHILD = """
import resource, sys, time
sys.path.insert(0, sys.argv[5])
from storefront.catalog import load_catalog
from storefront.mail.outbox import Outbox
from storefront.mail.sender import Mailing, Sender
from storefront.mail.settings import mail_settings
from storefront.pricing import utcnow
from storefront.storage import make_engine
from storefront.urls import Urls

database, smtp_url, rate, announcement = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
catalog = load_catalog(None)
outbox = Outbox(make_engine(database, 5.0))
settings = mail_settings({"SMTP_URL": smtp_url, "MAIL_FROM": sys.argv[6], "MAIL_RATE": rate})
mailing = Mailing(outbox, settings, lambda: catalog, Urls("https://books.example.org"),
                  "bench-secret", utcnow)
sender = Sender(mailing)
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
ready = cpu()  # imports and the catalog are the process's start, not the send
print("ready", flush=True)
while outbox.progress(announcement)["pending"]:
    handled, wait = sender.run_once()
    if not handled:
        time.sleep(max(wait, 0.01))
print(cpu() - ready, flush=True)
"""


def rss_mb(pid: int | str = "self") -> float:
    """A process's resident memory now, in MB (from /proc); 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


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
    return mailing.outbox.create(draft, datetime.now(UTC))


def bench_compose(mailing, announcement_id: int, count: int = 500) -> tuple[float, float]:
    """Messages per second made as bytes (no SMTP, no database): ``(composed, template)``.

    ``composed``: each message built and serialized by the ``email`` package (the way
    for a message the template cannot carry); ``template``: the announcement's template
    filled in per reader, as the sender does.
    """
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
    composed = count / (time.perf_counter() - start)
    start = time.perf_counter()
    template = mailing.template(snapshot)
    for i in range(count * 4):
        data = mailing.message_bytes(
            template,
            to=f"reader{i}@example.org",
            reader_id=i + 1,
            msgid=message_id(snapshot["token"], i + 1, mailing.domain),
        )
        if data is None:
            raise BenchError("the template could not carry a plain reader's message")
    return composed, count * 4 / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10_000, help="STOREFRONT_MAIL_RATE")
    parser.add_argument(
        "--senders", type=int, default=2, help="sender processes (storefront serve: 2 workers)"
    )
    args = parser.parse_args(argv)
    if args.recipients < 1 or args.senders < 1:
        parser.error("--recipients and --senders must be at least 1")
    port = free_port()
    server = start_server(port)
    children: list[subprocess.Popen] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-mail-") as folder:
            smtp_url = f"smtp://127.0.0.1:{port}?security=none"
            mailing, catalog, urls = prepare(Path(folder), args.recipients, smtp_url, args.rate)
            announcement_id = draft_id(mailing, catalog, urls)
            started = time.perf_counter()
            queued = mailing.start(announcement_id)
            enqueue = time.perf_counter() - started
            composed = bench_compose(mailing, announcement_id)
            database = mailing.outbox.engine.url.render_as_string(hide_password=False)
            command = [sys.executable, "-c", CHILD, database, smtp_url, str(args.rate)]
            command += [str(announcement_id), str(REPO), SENDER]
            children = [
                subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                for _ in range(args.senders)
            ]
            for child in children:
                if child.stdout.readline().strip() != "ready":
                    raise BenchError("a sender did not start")
            started = time.perf_counter()
            samples: list[tuple[int, list[float]]] = []  # (sent so far, RSS MB per sender)
            sent, next_count = 0, 0.0
            while any(child.poll() is None for child in children):
                now = time.perf_counter()
                if now >= next_count:
                    sent = queued - mailing.outbox.progress(announcement_id)["pending"]
                    next_count = now + 0.5
                samples.append((sent, [rss_mb(child.pid) for child in children]))
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            cpu = sum(float(child.stdout.read().strip() or 0) for child in children)
            progress = mailing.outbox.progress(announcement_id)
        server.stdin.close()
        accepted = int(server.stdout.readline().strip() or 0)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()
            child.stdout.close()
        if server.poll() is None:
            server.wait(10)
    print(f"recipients: {queued:,}; the server accepted {accepted:,} ({progress['sent']:,} sent)")
    print(f"start of the send (render once, snapshot every recipient): {enqueue:.2f} s")
    print(
        f"making messages alone, one process: {composed[1]:,.0f} messages/s from the template "
        f"(each composed by the email package: {composed[0]:,.0f} messages/s)"
    )
    print(
        f"send: {seconds:.1f} s for {queued:,} messages with {args.senders} sender process(es): "
        f"{queued / seconds:,.0f} messages/s (rate limit {args.rate:g}/s); "
        f"{cpu / queued * 1000:.1f} ms of sender CPU per message"
    )
    live = [(n, [mb for mb in mbs if mb]) for n, mbs in samples]
    live = [(n, mbs) for n, mbs in live if mbs]
    marks = []
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        at = next((mbs for n, mbs in live if n >= share * queued), live[-1][1])
        marks.append(f"{int(share * 100)}% {max(at):.1f}")
    peak = max(max(mbs) for _, mbs in live)
    print(f"RSS of the largest sender, MB: {'; '.join(marks)}; peak {peak:.1f}")
    if accepted != queued:
        print("the server did not accept every message", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
