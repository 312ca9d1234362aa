"""Land: copy every delivery, as received, into an immutable archive before anything parses it.

Layout: ``<archive_dir>/<source>/<YYYY-MM-DD>/<sha256>/<original file name>``. The directory is
named by the SHA-256 of the bytes it holds, so the same content landed twice (a re-run, or the
ministry sending the same file again) lands in the same place and nothing is written twice,
while a resend with different content for the same night gets a directory of its own: history
is kept. Files are made read-only once written.

The hash is computed while copying, from the very bytes written to the archive, so the hash in
``dq.batch`` always describes the archived copy even if the ministry overwrites the landing file
mid-copy. Callers parse the archived copy (``LandedDelivery.archive_path``), never the landing
file: what was loaded can then always be reproduced from the archive.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from sinergi.sources.registry import SourceSpec

log = logging.getLogger(__name__)

# Copy in 1 MiB chunks: deliveries can be hundreds of MB, memory stays flat.
CHUNK_BYTES = 1024 * 1024

# Archived files are read-only for everyone: the archive is evidence, not a work area.
READ_ONLY = 0o444

WIB = timezone(timedelta(hours=7), "WIB")

# Kementerian UMKM writes a control file next to its CSV; it belongs to the delivery.
UMKM_SOURCE = "umkm_penerima"
CONTROL_SUFFIX = ".ok"


class DeliveryNotFound(FileNotFoundError):
    """The delivery file for a source and night is not in the landing directory.

    The caller records the night as ``missing`` (after the source's deadline) or waits.
    """

    def __init__(self, source: str, logical_date: date, path: Path) -> None:
        self.source = source
        self.logical_date = logical_date
        self.path = path
        super().__init__(
            f"{source}: no delivery for {logical_date.isoformat()}: expected file {path} "
            "does not exist (or is not a regular file)"
        )


class ArchiveError(RuntimeError):
    """The archive does not hold what its layout promises (e.g. a file of the wrong size under
    a hash directory): someone changed it by hand. Needs a person; nothing is overwritten."""


@dataclass(frozen=True)
class LandedDelivery:
    """A delivery safely in the archive: what ``begin_batch`` needs to book it."""

    source: str  # source name, e.g. "umkm_penerima"
    logical_date: date
    # Where it came from: the file path relative to the landing dir, or the API window text.
    location: str
    archive_path: Path  # the archived copy of the delivery (parse this one)
    content_sha256: str  # hex SHA-256 of the delivery's bytes
    size_bytes: int
    # UMKM's archived ``.ok`` control file, when one was delivered; None otherwise.
    control_archive_path: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (for Airflow XCom)."""
        return {
            "source": self.source,
            "logical_date": self.logical_date.isoformat(),
            "location": self.location,
            "archive_path": str(self.archive_path),
            "content_sha256": self.content_sha256,
            "size_bytes": self.size_bytes,
            "control_archive_path": (
                str(self.control_archive_path) if self.control_archive_path else None
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LandedDelivery:
        control = data.get("control_archive_path")
        return cls(
            source=str(data["source"]),
            logical_date=date.fromisoformat(str(data["logical_date"])),
            location=str(data["location"]),
            archive_path=Path(str(data["archive_path"])),
            content_sha256=str(data["content_sha256"]),
            size_bytes=int(str(data["size_bytes"])),
            control_archive_path=Path(str(control)) if control else None,
        )


def land_file(
    source: SourceSpec, logical_date: date, landing_dir: Path, archive_dir: Path
) -> LandedDelivery:
    """Archive the file delivery of ``source`` for ``logical_date`` (UMKM: with its ``.ok``).

    Idempotent: landing the same content again writes nothing new and returns the same paths.
    Raises ``DeliveryNotFound`` when the file is not there. A UMKM CSV without its ``.ok`` is
    still archived (it was received); whether it is complete is for the caller to check, on the
    archived copy, with ``sinergi.parse.check_umkm_delivery`` *before* ``begin_batch``, and to
    record ``record_incomplete`` if not, so the same CSV can still load once its ``.ok`` comes.
    """
    location = source.delivery_path(logical_date)
    landing_path = Path(landing_dir) / location
    if not landing_path.is_file():
        raise DeliveryNotFound(source.name, logical_date, landing_path)

    night_dir = _night_dir(archive_dir, source.name, logical_date)
    archived, sha256, size = _archive_copy(landing_path, night_dir)

    control_archived = None
    if source.name == UMKM_SOURCE:
        control_landing = landing_path.with_name(landing_path.name + CONTROL_SUFFIX)
        if control_landing.is_file():
            control_archived = _archive_control_file(control_landing, archived.parent)
    return LandedDelivery(
        source=source.name,
        logical_date=logical_date,
        location=location,
        archive_path=archived,
        content_sha256=sha256,
        size_bytes=size,
        control_archive_path=control_archived,
    )


def land_bytes_file(
    source: SourceSpec,
    logical_date: date,
    extract_path: Path,
    archive_dir: Path,
    location: str | None = None,
) -> LandedDelivery:
    """Archive an API extract the extractor already wrote to a local JSONL file.

    ``location`` is the API window the extract covers; by default the night's window
    (``api_window_location``). The archived file keeps ``extract_path``'s name.
    """
    extract_path = Path(extract_path)
    if not extract_path.is_file():
        raise DeliveryNotFound(source.name, logical_date, extract_path)
    night_dir = _night_dir(archive_dir, source.name, logical_date)
    archived, sha256, size = _archive_copy(extract_path, night_dir)
    return LandedDelivery(
        source=source.name,
        logical_date=logical_date,
        location=location if location is not None else api_window_location(source, logical_date),
        archive_path=archived,
        content_sha256=sha256,
        size_bytes=size,
    )


def api_window_location(source: SourceSpec, logical_date: date) -> str:
    """``GET /api/v1/pmi updated_from=2026-01-05T00:00:00+07:00 updated_to=2026-01-06T...``:
    the half-open WIB day window an API extract for ``logical_date`` covers."""
    if source.endpoint is None:
        raise ValueError(f"{source.name} is a file drop, not an API source")
    start = datetime.combine(logical_date, time(0), WIB)
    end = start + timedelta(days=1)
    return f"GET {source.endpoint} updated_from={start.isoformat()} updated_to={end.isoformat()}"


def sha256_of_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _night_dir(archive_dir: Path, source: str, logical_date: date) -> Path:
    return Path(archive_dir) / source / logical_date.isoformat()


def _copy_to_temp(source_path: Path, directory: Path) -> tuple[Path, str, int]:
    """Copy ``source_path`` to a hidden temporary file in ``directory``, hashing as it goes.

    The temporary file is fsynced and read-only; the caller renames or removes it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / f".{source_path.name}.{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with source_path.open("rb") as reader, temp.open("xb") as writer:
            while chunk := reader.read(CHUNK_BYTES):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        temp.chmod(READ_ONLY)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest(), size


def _archive_copy(source_path: Path, night_dir: Path) -> tuple[Path, str, int]:
    """Put ``source_path`` at ``night_dir/<sha256>/<name>``; return (path, sha256, size)."""
    temp, sha256, size = _copy_to_temp(source_path, night_dir)
    target = night_dir / sha256 / source_path.name
    try:
        if target.exists():
            # Same name under the same hash directory: the same bytes, unless someone edited
            # the archive by hand. The size check is cheap and catches truncation.
            if target.stat().st_size != size:
                raise ArchiveError(
                    f"archived file {target} has {target.stat().st_size} bytes, but its "
                    f"directory name says it holds content {sha256} of {size} bytes; "
                    "the archive was modified, restore it before re-landing"
                )
            log.info("%s already archived (sha256 %s); nothing written", target, sha256[:12])
            return target, sha256, size
        target.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: readers see either no file or the complete one. Two processes landing the
        # same content at once both rename identical bytes; the result is the same.
        os.replace(temp, target)
        log.info("archived %s (%d bytes, sha256 %s)", target, size, sha256[:12])
        return target, sha256, size
    finally:
        temp.unlink(missing_ok=True)


def _archive_control_file(control_path: Path, delivery_dir: Path) -> Path:
    """Archive UMKM's ``.ok`` next to its CSV (under the CSV's hash directory).

    The ``.ok`` is the ministry's statement that the CSV is complete, and a corrected one may
    come after a wrong one for the same CSV. The archive keeps every version: a differing
    earlier ``.ok`` is kept as ``<name>.<its sha256, 12 hex>`` and the new one takes the
    canonical name, which is where ``check_umkm_delivery`` looks for it.
    """
    temp, sha256, _ = _copy_to_temp(control_path, delivery_dir)
    target = delivery_dir / control_path.name
    try:
        if target.exists():
            earlier_sha = sha256_of_file(target)
            if earlier_sha == sha256:
                return target
            os.replace(target, target.with_name(f"{target.name}.{earlier_sha[:12]}"))
        os.replace(temp, target)
        return target
    finally:
        temp.unlink(missing_ok=True)
