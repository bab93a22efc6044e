"""A book's cover and an author's photo upload, and the sample chapter (Markdown, with a preview).

A cover or a photo must be a PNG or a JPEG (checked by its first bytes, not its
name) of at most 5 MB. It is written next to the catalog under a new name, so
the previous file stays; the book's ``cover`` (the author's ``photo``) key then
points at it (a catalog save, with history). The sample chapter is Markdown next
to the catalog; its previous text is kept by hash before it is replaced.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from flask import abort, flash, redirect, request, url_for

from widgets.markdown import ChapterError, render_chapter

from ...desk import document
from ...desk.fields import KINDS
from ...desk.history import SaveError
from ...files import write_atomic
from .base import MAX_CHAPTER, MAX_COVER, bp, desk, page
from .editing import current, kind_of, save

SIGNATURES = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"))


def image_type(data: bytes) -> str | None:
    """The extension of a PNG or JPEG image by its signature, else None."""
    return next((ext for magic, ext in SIGNATURES if data.startswith(magic)), None)


def _table(path: str, kind: str = "book"):
    if kind_of(path) != kind:
        abort(404, f"No {kind} at '{path}'.")
    text, base, doc = current()
    try:
        table = document.resolve(doc, path)
    except document.PathError:
        abort(404, f"No {kind} at '{path}'.")
    return text, base, doc, table


def _set_key(doc, table, key: str, value: str, base: str, summary: str, kind: str = "book"):
    field = next(f for f in KINDS[kind] if f.key == key)
    document.apply(table, (field,), {key: value})
    return save(document.dumps(doc), base, summary)


def refused(message: str, path: str, status: int, what: str = "Cover"):
    html = page(
        "desk/message.html",
        title=f"{what} not changed",
        message=message,
        back=url_for("desk.edit", path=path),
    )
    return html, status


def _upload_image(path: str, kind: str, key: str, folder: str):
    """Store the uploaded image (form field ``key``) and point the table's ``key`` at it."""
    text, base, doc, table = _table(path, kind)
    what = key.capitalize()
    upload = request.files.get(key)
    back = redirect(url_for("desk.edit", path=path) + f"#{key}")
    if upload is None or not upload.filename:
        flash("Choose an image file to upload.", "error")
        return back
    data = upload.read(MAX_COVER + 1)
    if len(data) > MAX_COVER:
        return refused(f"The {key} is larger than 5 MB: it was not changed.", path, 413, what)
    ext = image_type(data)
    if ext is None:
        return refused(
            f"That file is not a PNG or JPEG image: the {key} was not changed.", path, 415, what
        )
    catalog_dir = desk().files.path.parent
    slug = str(table.get("slug", kind))
    name = f"{folder}/{slug}-{hashlib.sha256(data).hexdigest()[:10]}{ext}"
    target = catalog_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    try:
        entry = _set_key(
            doc, table, key, name, request.form.get("base", ""), f"new {key} for {slug}", kind
        )
    except SaveError as exc:
        flash(f"The image was stored as {name}, but the catalog was not changed: {exc}", "error")
        return back
    flash(f"New {key} saved as {name} (history #{entry.number}).", "success")
    return back


@bp.post("/cover/<path>")
def cover(path: str):
    return _upload_image(path, "book", "cover", "covers")


@bp.post("/photo/<path>")
def photo(path: str):
    """The author's photo for the shelf and the press kit, as the cover is uploaded."""
    return _upload_image(path, "author", "photo", "photos")


@bp.route("/sample/<path>", methods=["GET", "POST"])
def sample(path: str):
    text, base, doc, table = _table(path)
    files = desk().files
    catalog_dir = files.path.parent
    slug = str(table.get("slug", "book"))
    current_name = str(table.get("sample_chapter", "") or "")
    name = current_name or f"samples/{slug}.md"
    target = (catalog_dir / name).resolve()
    if catalog_dir.resolve() not in target.parents:
        abort(400, "The sample chapter must be a file next to the catalog.")
    preview = error = None
    status = 200
    if request.method == "POST":
        markdown = request.form.get("markdown", "").replace("\r\n", "\n")
        if len(markdown.encode("utf-8")) > MAX_CHAPTER:
            error, status = "The chapter is longer than 512 KB.", 413
        else:
            try:
                preview = _render(markdown, target.parent, catalog_dir)
            except ChapterError as exc:
                error, status = str(exc), 422
        if error is None and request.form.get("do") == "save":
            old = target.read_text(encoding="utf-8") if target.is_file() else None
            if old is not None:
                files.keep(old)  # the previous text stays in the history folder
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, markdown.encode("utf-8"))
            if not current_name:
                try:
                    _set_key(
                        doc,
                        table,
                        "sample_chapter",
                        name,
                        request.form.get("base", ""),
                        f"sample chapter for {slug}",
                    )
                except SaveError as exc:
                    error, status = (
                        f"The chapter is in {name}, but the catalog was not changed: {exc}",
                        409,
                    )
            if error is None:
                flash(f"Sample chapter saved to {name}.", "success")
                return redirect(url_for("desk.sample", path=path))
    else:
        markdown = target.read_text(encoding="utf-8") if target.is_file() else ""
        if markdown.strip():
            try:
                preview = _render(markdown, target.parent, catalog_dir)
            except ChapterError as exc:
                error = str(exc)
    html = page(
        "desk/sample.html",
        title=f"Sample chapter: {table.get('title', slug)}",
        path=path,
        base=base,
        name=name,
        markdown=markdown,
        preview=preview,
        error=error,
    )
    return html, status


def _render(markdown: str, folder: Path, root: Path):
    """Render Markdown exactly as the EPUB sample will (images resolved next to the chapter)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", prefix=".preview-", suffix=".md", dir=folder, delete=True, encoding="utf-8"
    ) as f:
        f.write(markdown)
        f.flush()
        return render_chapter(Path(f.name), root)
