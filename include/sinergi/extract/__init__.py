"""Extract: get each ministry's delivery for a business day, independent of Airflow.

- ``window``: the business day of a run, the API window and file-drop deadlines (WIB).
- ``kp2mi``: page through the KemenP2MI REST API into a JSONL file (retries, rate limit,
  paging checks); the Airflow connection only supplies the session.
- ``file_drop``: what a file sensor checks on each poke, and the verdict after the deadline.

Importing this package does not import Airflow (DAG parsing stays cheap).
"""

from __future__ import annotations

from sinergi.extract.file_drop import (
    DeliveryState,
    DeliveryStatus,
    check_delivery,
    deadline_outcome,
)
from sinergi.extract.kp2mi import (
    AuthenticationError,
    ExtractError,
    ExtractResult,
    FetchStats,
    extract_to_jsonl,
    fetch_window,
    session_from_airflow_connection,
)
from sinergi.extract.window import WIB, api_window, business_date, delivery_deadline

__all__ = [
    "WIB",
    "AuthenticationError",
    "DeliveryState",
    "DeliveryStatus",
    "ExtractError",
    "ExtractResult",
    "FetchStats",
    "api_window",
    "business_date",
    "check_delivery",
    "deadline_outcome",
    "delivery_deadline",
    "extract_to_jsonl",
    "fetch_window",
    "session_from_airflow_connection",
]
