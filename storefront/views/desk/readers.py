"""The desk's "Readers" section: the list, drafts, preview, a test to the author, send, progress.

``/admin/readers`` shows the list (confirmed, pending, unsubscribed; growth by week;
sign-ups by placement), a draft for each sale and each book, and the announcements so far.
An announcement's page edits its Markdown, previews it as it will arrive (HTML in a
sandboxed frame, and the text part), sends a test to the author, sends now or at a moment
(in the site's time zone), and shows the send's progress (``.json``, polled by desk.js).
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, current_app, flash, jsonify, redirect, request, url_for

from ...mail.announce import DraftError, book_drafts, draft_for, sale_drafts, subject_line
from ...mail.audience import list_summary
from ...mail.outbox import Outbox, aware
from ...mail.sender import MAILING, OUTBOX, SENDER, Mailing
from ...pricing import utcnow
from .. import storefront
from .base import _FORM_ROOM, UPLOADS, bp, page

MAX_MARKDOWN = 100_000  # characters of an announcement
# The text may be larger than the app's 64 KB request limit: the view, not a bare 413,
# tells the author when it is too long (percent-encoded, a character can take 9 bytes).
UPLOADS["desk.save_announcement"] = 9 * MAX_MARKDOWN + _FORM_ROOM
PREVIEW_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def outbox() -> Outbox:
    return current_app.extensions[OUTBOX]


def mailing() -> Mailing | None:
    return current_app.extensions.get(MAILING)


def get_announcement(announcement_id: int) -> dict:
    announcement = outbox().get(announcement_id)
    if announcement is None:
        abort(404, f"No announcement {announcement_id}.")
    return announcement


def local_time(at: datetime | None) -> str:
    """``at`` (naive UTC from the database) in the site's time zone, for people."""
    if at is None:
        return ""
    site = storefront().catalog.site
    return aware(at).astimezone(site.tz).strftime("%Y-%m-%d %H:%M %Z")


@bp.get("/readers")
def readers():
    sf = storefront()
    catalog, at = sf.catalog, sf.now()
    drafts = sale_drafts(catalog, sf.urls, at) + book_drafts(catalog, sf.urls, at)
    with outbox().read() as conn:
        summary = list_summary(conn, utcnow())  # real sign-ups: the real clock, not a preview
    rows = [
        {**a, "created": local_time(a["created_at"]), "when": local_time(a["send_at"])}
        for a in outbox().listing()
    ]
    return page(
        "desk/readers.html",
        title="Readers",
        summary=summary,
        drafts=drafts,
        announcements=rows,
        mail_ready=mailing() is not None,
        has_address=bool(catalog.site.postal_address),
    )


@bp.post("/readers/draft")
def new_draft():
    sf = storefront()
    try:
        draft = draft_for(
            sf.catalog, sf.urls, sf.now(), request.form.get("kind", ""), request.form.get("ref", "")
        )
    except DraftError as exc:
        abort(400, str(exc))
    announcement_id = outbox().create(draft, sf.now())
    return redirect(url_for("desk.announcement", announcement_id=announcement_id))


@bp.get("/readers/announcements/<int:announcement_id>")
def announcement(announcement_id: int):
    a = get_announcement(announcement_id)
    sf = storefront()
    m = mailing()
    rendered = None
    if a["status"] in ("draft", "scheduled"):
        from ...mail.render import render_announcement

        rendered = render_announcement(
            a["markdown"], a["subject"], catalog=sf.catalog, urls=sf.urls, campaign=a["campaign"]
        )
    suggested = ""
    if a["kind"] == "campaign" and (campaign := sf.catalog.campaign(a["ref"])) is not None:
        if campaign.starts > sf.now():
            suggested = campaign.starts.astimezone(sf.catalog.site.tz).strftime("%Y-%m-%dT%H:%M")
    return page(
        "desk/readers_announcement.html",
        title=f"Announcement: {a['subject']}",
        a=a,
        rendered=rendered,
        progress=outbox().progress(announcement_id),
        editable=a["status"] in ("draft", "scheduled"),
        mail_ready=m is not None,
        author_address=_author_address(m),
        when=local_time(a["send_at"]),
        suggested=suggested,
        timezone=sf.catalog.site.timezone,
    )


def _author_address(m: Mailing | None) -> str:
    from email.utils import parseaddr

    return parseaddr(m.settings.sender)[1] if m is not None else ""


@bp.post("/readers/announcements/<int:announcement_id>")
def save_announcement(announcement_id: int):
    get_announcement(announcement_id)
    subject = subject_line(request.form.get("subject", ""))
    markdown = request.form.get("markdown", "").replace("\r\n", "\n")
    if not subject:
        flash("The subject is empty: write one.", "error")
    elif not markdown.strip():
        flash("The message is empty: write one.", "error")
    elif len(markdown) > MAX_MARKDOWN:
        flash(f"The message is longer than {MAX_MARKDOWN:,} characters.", "error")
    elif outbox().edit(announcement_id, subject=subject, markdown=markdown, now=storefront().now()):
        flash("Saved.", "success")
    else:
        flash("This announcement is already being sent: it can no longer change.", "error")
    return redirect(url_for("desk.announcement", announcement_id=announcement_id))


@bp.get("/readers/announcements/<int:announcement_id>/preview.html")
def preview_html(announcement_id: int) -> Response:
    html, _ = _preview(announcement_id)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.get("/readers/announcements/<int:announcement_id>/preview.txt")
def preview_text(announcement_id: int) -> Response:
    _, text = _preview(announcement_id)
    return Response(text, mimetype="text/plain")


def _preview(announcement_id: int) -> tuple[str, str]:
    """The parts as they arrive: the snapshot once sending started, else rendered now."""
    from ...mail.render import RenderedMail, render_announcement

    a = get_announcement(announcement_id)
    sf = storefront()
    if a["html"] is not None:
        rendered = RenderedMail(a["subject"], a["html"], a["text"], (), (), ())
    else:
        rendered = render_announcement(
            a["markdown"], a["subject"], catalog=sf.catalog, urls=sf.urls, campaign=a["campaign"]
        )
    # The reader's own link goes here; the preview links to the unsubscribe page's shape.
    text, html = rendered.personal(sf.urls.absolute("/readers/unsubscribe/(the-reader's-link)"))
    return html, text


@bp.post("/readers/announcements/<int:announcement_id>/test")
def send_test(announcement_id: int):
    get_announcement(announcement_id)
    m = mailing()
    to = request.form.get("to", "").strip() or _author_address(m)
    target = url_for("desk.announcement", announcement_id=announcement_id)
    if m is None:
        flash("Mail is not configured: set STOREFRONT_SMTP_URL and STOREFRONT_MAIL_FROM.", "error")
        return redirect(target)
    if "\n" in to or "\r" in to or "@" not in to or len(to) > 320:
        flash("That is not an e-mail address.", "error")
        return redirect(target)
    try:
        m.send_test(announcement_id, to)
    except Exception as exc:  # noqa: BLE001 - the provider's answer, shown to the author
        flash(f"The test was not sent: {exc}", "error")
    else:
        flash(f"A test copy was sent to {to}.", "success")
    return redirect(target)


@bp.post("/readers/announcements/<int:announcement_id>/send")
def send(announcement_id: int):
    a = get_announcement(announcement_id)
    m = mailing()
    target = url_for("desk.announcement", announcement_id=announcement_id)
    if m is None:
        flash("Mail is not configured: set STOREFRONT_SMTP_URL and STOREFRONT_MAIL_FROM.", "error")
        return redirect(target)
    sf = storefront()
    if request.form.get("when") == "at":
        try:
            moment = datetime.fromisoformat(request.form.get("at", "").strip())
        except ValueError:
            flash("Choose a date and time to send at.", "error")
            return redirect(target)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=sf.catalog.site.tz)
        if outbox().schedule(announcement_id, moment, sf.now()):
            flash(f"Scheduled for {local_time(moment)}.", "success")
        else:
            flash("This announcement has already started: it cannot be rescheduled.", "error")
        return redirect(target)
    if a["status"] not in ("draft", "scheduled"):
        flash("This announcement has already been sent or cancelled.", "error")
        return redirect(target)
    count = m.start(announcement_id)
    if count is None:
        flash("This announcement has already started.", "info")
    else:
        flash(f"Sending to {count} reader(s).", "success")
        sender = current_app.extensions.get(SENDER)
        if sender is not None:
            sender.wake()
    return redirect(target)


@bp.post("/readers/announcements/<int:announcement_id>/cancel")
def cancel(announcement_id: int):
    get_announcement(announcement_id)
    if outbox().cancel(announcement_id, storefront().now()):
        flash("Cancelled: nothing more of it will be sent.", "success")
    else:
        flash("It was already sent or cancelled.", "info")
    return redirect(url_for("desk.announcement", announcement_id=announcement_id))


@bp.get("/readers/announcements/<int:announcement_id>.json")
def announcement_status(announcement_id: int):
    a = get_announcement(announcement_id)
    counts = outbox().progress(announcement_id)
    done = sum(n for state, n in counts.items() if state != "pending")
    return jsonify(
        id=announcement_id,
        status=a["status"],
        total=a["total"],
        done=done,
        send_at=local_time(a["send_at"]) or None,
        **counts,
    )
