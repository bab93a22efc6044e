"""QR codes (segno) for tracked links: one place decides size, error correction and quiet zone."""

from __future__ import annotations

import io

import segno

# Print gets 'Q' (25% recoverable: survives smudges and folds); screens and
# e-readers 'M'. The quiet zone is always the standard 4 modules.
QUIET_ZONE = 4


def make_qr(url: str, *, for_print: bool = True) -> segno.QRCode:
    return segno.make(url, error="q" if for_print else "m", boost_error=False, micro=False)


def qr_svg(
    url: str, *, scale: float = 4, for_print: bool = True, dark: str = "#000", light: str = "#fff"
) -> str:
    """Return the QR code of ``url`` as a standalone SVG document (no XML declaration)."""
    out = io.BytesIO()
    make_qr(url, for_print=for_print).save(
        out,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        dark=dark,
        light=light,
        xmldecl=False,
        svgns=True,
        nl=False,
    )
    return out.getvalue().decode()


def qr_png(url: str, *, scale: int = 8, for_print: bool = True) -> bytes:
    """Return the QR code of ``url`` as PNG bytes (black on white)."""
    out = io.BytesIO()
    make_qr(url, for_print=for_print).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()
