"""The EPUB's container: re-pack what ebooklib wrote into reproducible bytes.

ebooklib's public ``write_epub`` makes the package; this module copies its zip
entries with fixed metadata and adds what ebooklib has no option for, using
only ``zipfile`` and lxml (no private ebooklib method, so no pin on its internals).
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree

_COMPRESSED = (".jpg", ".jpeg", ".png")
_CONTAINER_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container"}


def _package_path(archive: zipfile.ZipFile) -> str:
    """The package document's name, read from ``META-INF/container.xml`` (OCF)."""
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    return container.xpath("string(c:rootfiles/c:rootfile/@full-path)", namespaces=_CONTAINER_NS)


def _with_language(package: bytes, language: str) -> bytes:
    """Put ``xml:lang`` on ``<package>``: DAISY Ace wants it and ebooklib has no option."""
    root = etree.fromstring(package)
    root.set("{http://www.w3.org/XML/1998/namespace}lang", language)
    return etree.tostring(root, pretty_print=True, encoding="utf-8", xml_declaration=True)


def repack(data: bytes, language: str, date_time: tuple) -> bytes:
    """Re-pack an EPUB written by ebooklib: one timestamp and mode for every entry.

    Only public interfaces: ebooklib's ``write_epub`` makes the package, and the
    standard ``zipfile`` copies its entries in order (the ``mimetype`` entry first
    and uncompressed, as OCF requires) with fixed metadata, so the same input is
    the same bytes on every machine.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as archive:
        package = _package_path(source)
        for entry in source.infolist():
            body = source.read(entry)
            if entry.filename == package:
                body = _with_language(body, language)
            info = zipfile.ZipInfo(entry.filename, date_time=date_time)
            # The mimetype must be stored (OCF); JPEG and PNG gain nothing from deflate.
            stored = entry.filename == "mimetype" or entry.filename.endswith(_COMPRESSED)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, on every platform
            info.external_attr = 0o100644 << 16
            archive.writestr(info, body, compresslevel=None if stored else 9)
    return out.getvalue()
