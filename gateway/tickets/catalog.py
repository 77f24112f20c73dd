"""The software catalog that ticket texts are matched against.

Titles are the ``software:<title>`` resources of the embedded directory file
(``resources`` in ``gateway/defaults/directory.yaml``).  A title matches a run of up to
three words of a text once both are reduced to lower-case letters and digits: ``7zip``
matches "7-Zip" and "7 zip", ``torrent-client`` matches "torrent client".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from gateway.identity.static import StaticDirectoryFile
from gateway.yaml_source import load_yaml_model

__all__ = ["SoftwareCatalog", "squash"]

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.#-]*")
_MAX_WORDS = 3


def squash(text: str) -> str:
    """``text`` in lower case with everything but letters and digits removed."""
    return _NOT_ALNUM.sub("", text.lower())


class SoftwareCatalog:
    """Catalog titles by their squashed spelling."""

    def __init__(self, titles: Iterable[str]) -> None:
        self._titles = {squash(title): title for title in titles if squash(title)}

    @classmethod
    def from_directory_file(cls, path: Path) -> SoftwareCatalog:
        """The ``software:`` resources of a directory file; none when it has none."""
        model, _ = load_yaml_model(path, StaticDirectoryFile, "invalid directory file")
        prefix = "software:"
        return cls(key[len(prefix) :] for key in model.resources if key.startswith(prefix))

    @property
    def titles(self) -> list[str]:
        return sorted(self._titles.values())

    def find(self, text: str) -> tuple[str, ...]:
        """The catalog titles named in ``text``, in the order they first appear."""
        if not self._titles:
            return ()
        words = [squash(word) for word in _WORD.findall(text)]
        found: dict[str, None] = {}
        for start in range(len(words)):
            joined = ""
            for word in words[start : start + _MAX_WORDS]:
                joined += word
                title = self._titles.get(joined)
                if title is not None:
                    found.setdefault(title)
        return tuple(found)
