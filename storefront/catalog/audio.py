"""The audiobook's sample: a sound file next to the catalog, read with mutagen.

``audio_sample = "samples/genesis.mp3"`` on the audiobook edition becomes an
:class:`AudioFile`: the resolved path, its media type and its length in
seconds, read once when the catalog loads. A file that is not audio of the type
its name says (a text file renamed ``.mp3``, an Ogg file named ``.m4a``) is a
catalog error on that key, like any other bad value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from .convert import Converter, FileField
from .errors import Invalid

# suffix -> (media type, what it is called in messages, mutagen types that are that format)
AUDIO_FORMATS: dict[str, tuple[str, str, tuple[type, ...]]] = {
    ".mp3": ("audio/mpeg", "MP3", (MP3,)),
    ".m4a": ("audio/mp4", "M4A (AAC in MP4)", (MP4,)),
    ".ogg": ("audio/ogg", "Ogg (Vorbis or Opus)", (OggVorbis, OggOpus)),
}
AUDIO_TYPES = {suffix: media_type for suffix, (media_type, _, _) in AUDIO_FORMATS.items()}
MAX_SAMPLE_SECONDS = 3600  # a sample, not the whole book: longer is surely the wrong file


@dataclass(frozen=True)
class AudioFile(os.PathLike):
    """An audio file checked at load time; ``os.fspath()`` gives its path."""

    path: Path
    media_type: str  # audio/mpeg, audio/mp4, audio/ogg
    seconds: float  # its length as mutagen reads it

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def extension(self) -> str:
        """``mp3``, ``m4a`` or ``ogg``: the ``sample.<ext>`` it is served as."""
        return self.path.suffix.lstrip(".").lower()

    @property
    def iso_duration(self) -> str:
        """The length as ISO 8601 (``PT1M5S``), for schema.org."""
        return iso_duration(self.seconds)


def iso_duration(seconds: float) -> str:
    """``PT9H12M`` for 9 h 12 min; whole seconds only when under a minute matters."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    out = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return out + (f"{secs}S" if secs or total == 0 else "")


def read_audio(path: Path, shown: str) -> AudioFile:
    """Check that ``path`` is audio of the type its suffix names; raise :class:`Invalid`."""
    media_type, label, kinds = AUDIO_FORMATS[path.suffix.lower()]
    try:
        audio = mutagen.File(path)
    except mutagen.MutagenError as exc:
        raise Invalid(f"file '{shown}' is not {label} audio ({exc})") from None
    except OSError as exc:
        raise Invalid(f"file '{shown}': {exc.strerror or exc}") from None
    if audio is None or not isinstance(audio, kinds):
        found = f"{type(audio).__name__} audio" if audio is not None else "no audio mutagen knows"
        raise Invalid(f"file '{shown}' is not {label} audio (found {found})")
    seconds = float(getattr(audio.info, "length", 0) or 0)
    if seconds <= 0:
        raise Invalid(f"file '{shown}' has no sound (its length reads as 0 s)")
    if seconds > MAX_SAMPLE_SECONDS:
        raise Invalid(
            f"file '{shown}' lasts {seconds / 60:.0f} min: a sample is at most "
            f"{MAX_SAMPLE_SECONDS // 60} min"
        )
    return AudioFile(path=path, media_type=media_type, seconds=seconds)


class AudioField(FileField):
    """A catalog key naming an audio file (MP3, M4A or Ogg) next to the catalog."""

    def __init__(self) -> None:
        super().__init__(AUDIO_TYPES)

    def bind(self, base: Path) -> Converter:
        find = super().bind(base)

        def convert(value: Any, path: str) -> AudioFile:
            return read_audio(find(value, path), str(value))

        return convert
