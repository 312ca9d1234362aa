"""The one error a parser raises for a delivery that cannot be read as a whole."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path) -> str:
    """``umkm/umkm_penerima_20260105.csv``: the folder below the landing dir plus the file name.

    That is how the engineer on duty finds the file in the landing area; the full path is kept
    on the exception for code that needs it.
    """
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


class DeliveryError(Exception):
    """A whole delivery is unusable: the batch fails, nothing of it is loaded.

    Raised for an unreadable, empty, truncated or wrongly encoded file, a header that does not
    match the contract, a missing or disagreeing control file or footer. The message names the
    source, the file and what was expected versus found, so a person can act on it (or forward
    it to the ministry's data steward).
    """

    def __init__(self, source: str, path: Path, message: str) -> None:
        self.source = source
        self.path = Path(path)
        self.detail = message
        super().__init__(f"{source}: {display_path(self.path)}: {message}")
