"""Load and validate the catalog: one human-edited TOML file.

``load_catalog(path)`` returns a frozen :class:`Catalog` or raises
:class:`CatalogError` listing *every* problem at once, each as
``file:line: key.path: what is wrong``. Money is ``Decimal`` (TOML floats are
parsed as ``Decimal``, never ``float``); datetimes are timezone-aware.

The package, in reading order:

- ``model``: the frozen dataclasses; each TOML key is declared once, as a field;
- ``convert``: one converter per kind of value (text, slug, URL, money, file...);
- ``audio``: the audiobook's sample file, checked and measured with mutagen;
- ``spec``: derives each table's checks from the fields' metadata;
- ``territory``: the one set of countries and groups (``EU``) for catalog and links;
- ``marketplace``: which country's Amazon or Audible store a URL is on (affiliate tags);
- ``header``: the grammars of the response headers catalog values reach;
- ``nesting``: refuses TOML nested too deeply before the parser recurses;
- ``lines``: the TOML line map behind every ``file:line``;
- ``reader``: nested tables, cross-references and context-dependent defaults;
- ``load``: file and TOML syntax, then the reader.

Adding a catalog field is one line in ``model.py``: a field whose default is
``spec(converter, ...)``, e.g. on :class:`Edition`::

    narrator: str | None = spec(c.text, formats=("audiobook",), default=None)

The reader then accepts the key in that table, converts it (an error names the
file, line and key), reports it when ``required=True`` and missing, suggests it
for a misspelt key, refuses it on editions of other ``formats``, and passes it
to the constructor. A file next to the catalog is ``spec(c.FileField({".mp3":
"audio/mpeg"}), default=None)``. Only a field that depends on other tables
(a reference to a vendor, money checked against a currency) or builds nested
tables (``nested=True``) needs code in ``reader.py`` as well.
"""

from __future__ import annotations

from . import model
from .audio import AUDIO_TYPES, AudioFile, iso_duration
from .convert import SLUG_RE
from .errors import CatalogError, CatalogProblem, Invalid
from .lines import build_line_map
from .load import builtin_catalog_path, iter_urls, load_catalog, parse_catalog
from .model import *  # noqa: F403  (its __all__: the frozen dataclasses and their constants)
from .spec import spec
from .territory import COUNTRIES, GROUPS, TERRITORIES, country_code, lookup

__all__ = [
    *model.__all__,
    "AUDIO_TYPES",
    "COUNTRIES",
    "GROUPS",
    "SLUG_RE",
    "TERRITORIES",
    "AudioFile",
    "CatalogError",
    "CatalogProblem",
    "Invalid",
    "build_line_map",
    "builtin_catalog_path",
    "country_code",
    "iso_duration",
    "iter_urls",
    "load_catalog",
    "lookup",
    "parse_catalog",
    "spec",
]
