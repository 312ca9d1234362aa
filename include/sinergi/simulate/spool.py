"""A disk spool of delivered rows, by source and night, so memory stays flat as worlds grow.

Rows are appended as they are generated (person by person, in any night order) and read back
one (source, night) at a time, sorted, when that night's delivery is written.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date
from pathlib import Path


class NightSpool:
    def __init__(self, directory: Path, flush_every: int = 200_000) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_every = flush_every
        self._buffers: dict[tuple[str, date], list[str]] = defaultdict(list)
        self._buffered = 0

    def _path(self, source: str, night: date) -> Path:
        return self.directory / source / f"{night:%Y%m%d}.spool"

    def add(self, source: str, night: date, sort_key: str, payload: str) -> None:
        # Tab and newline never occur in a sort key or a JSON payload (json escapes them).
        self._buffers[(source, night)].append(f"{sort_key}\t{payload}\n")
        self._buffered += 1
        if self._buffered >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        for (source, night), lines in self._buffers.items():
            path = self._path(source, night)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as out:
                out.writelines(lines)
        self._buffers.clear()
        self._buffered = 0

    def read(self, source: str, night: date) -> list[str]:
        """The night's payloads in sort-key order (JSON text, one per row)."""
        path = self._path(source, night)
        if not path.exists():
            return []
        with open(path, encoding="utf-8") as spooled:
            lines = spooled.readlines()
        lines.sort()
        return [line.split("\t", 1)[1] for line in lines]

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
