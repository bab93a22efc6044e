"""The history of the catalog file: every save, its diff, and restoring the version before it."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from ...desk.history import ChangedOnDisk, SaveError, digest, unified_diff
from .base import bp, desk, page


@bp.get("/history")
def history():
    files = desk().files
    text = files.read()
    files.keep(text)
    return page(
        "desk/history.html",
        title="History",
        entries=list(reversed(files.entries())),
        base=digest(text),
    )


def save_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        abort(404, f"No save '{text}' in the history.")
    return int(text)


@bp.get("/history/<number>")
def history_entry(number: str):
    number = save_number(number)
    files = desk().files
    entry = files.entry(number)
    if entry is None:
        abort(404, f"No save number {number} in the history.")
    before, after = files.kept(entry.before), files.kept(entry.after)
    if before is None or after is None:
        abort(404, f"The versions of save {number} are missing from the history folder.")
    text = files.read()
    files.keep(text)
    return page(
        "desk/diff.html",
        title=f"Save #{number}",
        entry=entry,
        diff=unified_diff(before, after, f"before #{number}", f"after #{number}"),
        base=digest(text),
    )


@bp.post("/history/<number>/restore")
def restore(number: str):
    number = save_number(number)
    files = desk().files
    try:
        entry = files.restore(number, request.form.get("base", ""))
    except ChangedOnDisk:
        flash("The file changed on disk since the page was opened: nothing was restored.", "error")
        return redirect(url_for("desk.history_entry", number=number))
    except SaveError as exc:
        flash(f"Not restored: {exc}", "error")
        return redirect(url_for("desk.history_entry", number=number))
    flash(
        f"Restored the file as it was before save #{number} (this is save #{entry.number}).",
        "success",
    )
    return redirect(url_for("desk.history"))
