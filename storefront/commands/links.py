"""``storefront links check``: is every vendor, support and quote link still alive?"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import click

from ..linkcheck import BROKEN, TRANSIENT, CheckConfig, LinkRun, Status, catalog_links, check_links
from . import catalog_option, instance_note, open_catalog

KINDS = ("offer", "country store", "affiliate", "store search", "quote source", "support")
POSITIVE = click.FloatRange(min=0, min_open=True)
# The checker's time bounds and politeness as options: (option, CheckConfig field, type,
# default, help). One table, so an option and the field it sets cannot drift apart.
BOUNDS = (
    ("--timeout", "read_timeout", POSITIVE, 10.0, "Seconds to wait for an answer (read timeout)."),
    ("--connect-timeout", "connect_timeout", POSITIVE, 5.0, "Seconds to wait for a connection."),
    (
        "--max-time",
        "max_time",
        POSITIVE,
        60.0,
        "Seconds one link may take, retries and waits included.",
    ),
    (
        "--retries",
        "retries",
        click.IntRange(0, 10),
        2,
        "Extra attempts on 429 and 5xx (Retry-After is honoured).",
    ),
    (
        "--backoff",
        "backoff",
        click.FloatRange(min=0),
        0.5,
        "Seconds before the first retry when no Retry-After is sent; doubles each time.",
    ),
    ("--concurrency", "concurrency", click.IntRange(1, 64), 8, "Links checked at once."),
    ("--per-host", "per_host", click.IntRange(1, 16), 2, "Requests in flight to one host at most."),
    (
        "--host-interval",
        "host_interval",
        click.FloatRange(min=0),
        0.0,
        "Minimum seconds between two requests to one host.",
    ),
)


def bound_options(f):
    """Add one option per row of :data:`BOUNDS`, each passed as its CheckConfig field."""
    for flag, field, kind, default, text in reversed(BOUNDS):
        f = click.option(flag, field, type=kind, default=default, show_default=True, help=text)(f)
    return f


@click.group()
def links() -> None:
    """Check the catalog's outbound links."""


@links.command("check")
@catalog_option
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table grouped by book and vendor, or JSON for scripts.",
)
@bound_options
@click.option("--book", "books", multiple=True, help="Only this book's links (repeatable).")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only links of this kind (repeatable).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Also exit 1 on timeouts, refused connections, 5xx and 429 (by default only broken).",
)
def check(
    catalog_path: Path | None,
    output: str,
    books: tuple[str, ...],
    kinds: tuple[str, ...],
    strict: bool,
    **bounds: float,
) -> None:
    """Check every catalog link; exit 1 when one is broken (for cron and CI).

    Broken: 404/410 and other client errors, redirect loops, DNS and TLS
    failures. A bot wall (a challenge page, 403 to robots) is reported as
    blocked, not broken. Timeouts, refused connections, 5xx and 429 after the
    retries are reported and fail the run only with --strict.
    """
    catalog = open_catalog(catalog_path)
    for slug in books:
        if catalog.book(slug) is None:
            known = ", ".join(b.slug for b in catalog.books)
            raise click.BadParameter(
                f"no book '{slug}' (the catalog has: {known})", param_hint="--book"
            )
    selected = [
        link
        for link in catalog_links(catalog)
        if (not books or link.book in books) and (not kinds or link.kind in kinds)
    ]
    config = CheckConfig(**bounds)
    run = check_links(selected, config)
    if not books and not kinds:  # a full check: the desk's dashboard shows it
        from ..linkcheck.report import save_report

        try:
            saved = save_report(run.to_dict(), catalog.version)
            instance_note("the desk's link report: saved in", saved.parent, f" ({saved.name})")
        except OSError as exc:
            click.echo(f"note: the report was not saved for the desk: {exc}", err=True)
    if output == "json":
        click.echo(json.dumps(run.to_dict(), indent=2))
    else:
        click.echo(render_table(run))
    failing = run.broken or (strict and run.transient)
    sys.exit(1 if failing else 0)


def render_table(run: LinkRun) -> str:
    """Render the run as text: one section per book, one block per vendor, then a summary."""
    groups: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for report in run.reports:
        book, vendor = report.link.group
        groups[book][vendor].append(report)
    width = max((len(str(s)) for s in Status), default=10)
    lines: list[str] = []
    for book, vendors in groups.items():
        lines.append(book)
        for vendor, reports in vendors.items():
            lines.append(f"  {vendor}")
            for report in reports:
                link, result = report.link, report.result
                # "!!" marks what fails the run; "?" what may pass by itself.
                flag = "  "
                if result.status in BROKEN:
                    flag = "!!"
                elif result.status in TRANSIENT:
                    flag = "? "
                lines.append(f"    {flag} {str(result.status):<{width}}  {link.key}  {link.url}")
                pad = " " * (9 + width)
                lines.append(f"{pad}{result.detail}")
                if link.clean_url:
                    lines.append(f"{pad}clean form: {link.clean_url}")
        lines.append("")
    counts = ", ".join(f"{n} {status}" for status, n in run.counts().items())
    unique = len({r.link.url for r in run.reports})
    lines.append(
        f"{len(run.reports)} link(s), {unique} distinct URL(s) in {run.elapsed:.1f} s: "
        f"{counts or 'none'}."
    )
    if run.reports and all(r.result.status is Status.DNS for r in run.reports):
        lines.append("No host name resolved at all: is this machine offline?")
    if run.broken:
        lines.append(f"{len(run.broken)} broken link(s): fix them in the catalog.")
    return "\n".join(lines)
