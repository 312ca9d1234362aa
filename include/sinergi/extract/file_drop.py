"""Has a ministry's file drop for ``D`` arrived? What the file sensor asks on every poke.

``check_delivery`` looks at the landing directory once and says where the delivery stands;
it is pure apart from reading the files (no clock, no Airflow, no database), so the sensor
(reschedule or deferrable) can call it as often as it likes. Whether a file has stopped
growing is the caller's business: the status carries size and mtime for it to compare
between two pokes.

States:

- ``not_expected``: the source's cadence says no delivery is due (Parekraf on a weekend,
  the BPS master on a day other than the first of the month). Not a failure.
- ``waiting``: the file is not there (yet).
- ``incomplete``: something is there but not a whole delivery: an empty file, or for UMKM a
  CSV without its ``.ok`` or with a ``.ok`` that disagrees (rows or sha256; the reason says
  which). The ministry writes the ``.ok`` after the CSV, so this is normal for a while.
- ``ready``: the delivery can be landed.

After the source's deadline, ``deadline_outcome`` turns a status into the batch's verdict:
still ``waiting`` becomes ``missing``, still ``incomplete`` stays ``incomplete``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from sinergi.extract.window import delivery_deadline, format_wib
from sinergi.parse import DeliveryError
from sinergi.parse.umkm import check_umkm_complete, control_file_path
from sinergi.sources.registry import SourceSpec

# The one source whose delivery is a data file plus a control file written after it.
UMKM_SOURCE = "umkm_penerima"


class DeliveryState(StrEnum):
    NOT_EXPECTED = "not_expected"
    WAITING = "waiting"
    INCOMPLETE = "incomplete"
    READY = "ready"


# How often each cadence delivers, for the "no delivery expected" message.
_CADENCE_TEXT = {
    "daily": "every day",
    "weekdays": "Monday to Friday only",
    "monthly": "on the first day of each month",
    "yearly": "once a year, on 1 January",
    "yearly_july": "once a year, in July",
}

# Verdicts of a batch whose deadline has passed, as ``deadline_outcome`` returns them.
VERDICT_READY = "ready"
VERDICT_NOT_EXPECTED = "not_expected"
VERDICT_MISSING = "missing"
VERDICT_INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class DeliveryStatus:
    source: str
    business_date: date
    state: DeliveryState
    path: Path  # the expected delivery file (absolute, below the landing dir)
    relative_path: str  # the same below the landing dir, e.g. umkm/umkm_penerima_20260105.csv
    deadline: datetime  # after it, waiting means missing (WIB)
    message: str  # for the engineer on duty: source, expected file, what is missing
    reason: str | None = None  # incomplete: what is wrong with what is there
    size: int | None = None  # bytes of the delivery file when present
    mtime_ns: int | None = None  # its modification time, for the caller's stability check

    @property
    def is_ready(self) -> bool:
        return self.state is DeliveryState.READY


def _day(d: date) -> str:
    return f"{d:%A} {d.isoformat()}"


def check_delivery(
    spec: SourceSpec,
    d: date,
    landing_dir: str | os.PathLike[str],
    *,
    first_night: bool = False,
) -> DeliveryStatus:
    """Where the delivery of ``spec`` for business day ``d`` stands in ``landing_dir``.

    ``first_night``: nothing of this source has been loaded yet (a periodic reference file is
    then due on any night: see ``SourceSpec.is_expected_on``).
    """
    if spec.kind != "file":
        raise ValueError(f"{spec.name} is delivered by API, not as a file drop")
    relative = spec.delivery_path(d)
    path = Path(landing_dir) / relative
    deadline = delivery_deadline(spec, d)

    def status(
        state: DeliveryState,
        message: str,
        reason: str | None = None,
        stat: os.stat_result | None = None,
    ) -> DeliveryStatus:
        return DeliveryStatus(
            source=spec.name,
            business_date=d,
            state=state,
            path=path,
            relative_path=relative,
            deadline=deadline,
            message=message,
            reason=reason,
            size=stat.st_size if stat else None,
            mtime_ns=stat.st_mtime_ns if stat else None,
        )

    if not spec.is_expected_on(d, first_night=first_night):
        # A file that is there anyway (a reference file's name repeats for the whole month or
        # year) is simply not this night's delivery.
        cadence = _CADENCE_TEXT.get(spec.cadence, spec.cadence)
        return status(
            DeliveryState.NOT_EXPECTED,
            f"{spec.name}: no delivery expected for {_day(d)} ({spec.ministry} delivers {cadence})",
        )

    try:
        stat = path.stat()
    except FileNotFoundError:
        note = ""
        if spec.name == UMKM_SOURCE:
            note = " and its .ok control file"
            if control_file_path(path).exists():
                note = " (its .ok control file is there, the CSV is not)"
        return status(
            DeliveryState.WAITING,
            f"{spec.name}: waiting for {relative}{note}; deadline {format_wib(deadline)}",
        )
    if not path.is_file():
        reason = "it is not a regular file"
        return status(DeliveryState.INCOMPLETE, f"{spec.name}: {relative}: {reason}", reason, stat)
    if stat.st_size == 0:
        reason = "the file is empty (0 bytes); it may still be being written"
        return status(DeliveryState.INCOMPLETE, f"{spec.name}: {relative}: {reason}", reason, stat)

    if spec.name == UMKM_SOURCE:
        reason = _umkm_incomplete_reason(path, relative)
        if reason is not None:
            return status(
                DeliveryState.INCOMPLETE,
                f"{spec.name}: {relative} is incomplete: {reason}",
                reason,
                stat,
            )
        message = f"{spec.name}: {relative} ({stat.st_size} bytes) and its agreeing .ok are there"
    else:
        message = f"{spec.name}: {relative} is there ({stat.st_size} bytes)"
    return status(DeliveryState.READY, message, stat=stat)


def _umkm_incomplete_reason(csv_path: Path, relative: str) -> str | None:
    """Why the UMKM CSV does not count as delivered yet, or None when its ``.ok`` agrees."""
    path_ok = control_file_path(csv_path)
    if not path_ok.exists():
        return (
            f"control file {relative}.ok is missing (the ministry writes it after the CSV; "
            "until then the CSV may be partial)"
        )
    try:
        # Reads the .ok (a half-written one is "malformed") and compares sha256. A complete CSV
        # whose rows are unreadable or disagree with the .ok's count fails at loading instead.
        check_umkm_complete(csv_path)
    except DeliveryError as error:
        return error.detail
    return None


def deadline_outcome(status: DeliveryStatus) -> tuple[str, str]:
    """``(verdict, message)`` for a delivery whose deadline has passed.

    ``waiting`` -> ``missing``; ``incomplete`` -> ``incomplete`` with the reason. ``ready``
    and ``not_expected`` keep their meaning (the caller should not have waited for them).
    """
    when = format_wib(status.deadline)
    if status.state is DeliveryState.WAITING:
        return (
            VERDICT_MISSING,
            f"{status.source}: no delivery {status.relative_path} by {when}",
        )
    if status.state is DeliveryState.INCOMPLETE:
        return (
            VERDICT_INCOMPLETE,
            f"{status.source}: delivery {status.relative_path} still incomplete at {when}: "
            f"{status.reason}",
        )
    if status.state is DeliveryState.NOT_EXPECTED:
        return VERDICT_NOT_EXPECTED, status.message
    return VERDICT_READY, status.message
