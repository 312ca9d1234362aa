"""The one module outside ``dags/`` that imports Airflow: connections, Assets, the notifier.

Everything else in ``sinergi`` is plain Python that the DAG tasks call with plain values.
"""

from __future__ import annotations

import html
import json
import logging
import os
import urllib.request

from airflow.sdk import Asset, AssetAll, BaseHook, BaseNotifier
from airflow.sdk.exceptions import AirflowNotFoundException

from sinergi import settings

log = logging.getLogger(__name__)

WAREHOUSE_CONN_ID = "warehouse"
KP2MI_CONN_ID = "kp2mi_api"
# Where alerts go besides the task log (docs/OPERATIONS.md, "Alerts"): a webhook that gets a
# JSON POST, and e-mail addresses (comma-separated) sent through Airflow connection
# smtp_default with the SMTP provider's hook.
ALERT_WEBHOOK_ENV = "SINERGI_ALERT_WEBHOOK"
ALERT_EMAIL_ENV = "SINERGI_ALERT_EMAIL"
ALERT_SMTP_CONN_ID = "smtp_default"


def warehouse_url() -> str:
    """libpq URL of the warehouse: Airflow connection ``warehouse`` (environment, metadata
    database or secrets backend), else Sinergi's own settings (the embedded PostgreSQL)."""
    try:
        connection = BaseHook.get_connection(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return settings.warehouse_url()
    return settings.airflow_conn_to_libpq(connection.get_uri(), variable="connection warehouse")


def source_asset(source_name: str) -> Asset:
    """The Asset a source DAG publishes when a batch of ``raw.<source>`` is loaded (lineage:
    which DAG writes which raw table; nothing is scheduled on it any more)."""
    return Asset(
        name=f"raw.{source_name}",
        uri=f"sinergi://warehouse/raw/{source_name}",
        group="sinergi_raw",
    )


def source_outcome_asset(source_name: str) -> Asset:
    """The Asset a source DAG updates once per night, however the night ended (its extra
    says how: ``sinergi.sources.registry.OUTCOMES``); the warehouse DAG is scheduled on all
    of them."""
    return Asset(
        name=f"outcome.{source_name}",
        uri=f"sinergi://ingest/outcome/{source_name}",
        group="sinergi_outcome",
    )


class _AssetAllHashedOnce(AssetAll):
    """An ``AssetAll`` that computes its hash once.

    Airflow hashes a DAG, its schedule included, each time a task dependency is set. An Asset
    hashes by JSON-dumping its fields. The warehouse DAG's ~300 Cosmos dependencies therefore
    spent 0.3 s of its parse time (a third of it) hashing the same nine Assets again and again.
    The objects never change after construction, so one hash is enough. It is still an
    ``AssetAll`` to Airflow's serializer and scheduler.
    """

    def __init__(self, *objects) -> None:
        super().__init__(*objects)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def every_source_reported(source_names) -> AssetAll:
    """The condition "every source has reported its night": AND of the outcome Assets."""
    return _AssetAllHashedOnce(*(source_outcome_asset(name) for name in source_names))


def annotate_outcome_event(outlet_events, source_name: str, report: dict) -> None:
    """Put the night's outcome on the outcome Asset event: ``business_date`` (the warehouse
    run it completes has no logical date of its own), ``outcome``, and the batch and reason
    when there is one (the reason shortened: the full text is in ``dq.batch``)."""
    outlet_events[source_outcome_asset(source_name)].extra = {
        "source": source_name,
        "business_date": report["business_date"],
        "outcome": report["outcome"],
        "verdict": report.get("verdict"),
        "batch_id": report.get("batch_id"),
        "reason": (report.get("reason") or "")[:500],
    }


def annotate_asset_event(outlet_events, source_name: str, batch: dict) -> None:
    """Put the business day (and the batch) on the Asset event a source publishes: the
    warehouse run it triggers has no logical date of its own and builds this day."""
    outlet_events[source_asset(source_name)].extra = {
        "business_date": batch["business_date"],
        "batch_id": batch.get("batch_id"),
        "verdict": batch.get("verdict"),
    }


def triggering_event_extras(context) -> list[dict]:
    """The ``extra`` of every Asset event that triggered this run (none for a manual run);
    for the warehouse DAG, the sources' outcome events."""
    events = context.get("triggering_asset_events") or {}
    return [dict(event.extra or {}) for batch in events.values() for event in batch]


def dbt_environment_interceptor(context, operator) -> None:
    """Cosmos interceptor: give a dbt task the warehouse connection and the HMAC key, at run
    time only (never at parse time, never in the DAG's files). Both are masked first, so the
    rendered fields Airflow stores and the task log show ``***`` in their place."""
    from airflow.sdk.log import mask_secret

    from sinergi.dbt_runner import dbt_environment, pii_key

    key = pii_key()
    environment = dbt_environment(warehouse_url(), key)
    mask_secret(key)
    if environment["SINERGI_DBT_PASSWORD"]:
        mask_secret(environment["SINERGI_DBT_PASSWORD"])
    operator.env = {**(operator.env or {}), **environment}


def send_alert(level: str, dag_id: str, task_id: str, logical_date, reason: str) -> None:
    """Say that ``task_id`` of ``dag_id`` ``failed`` or has a ``warning`` for a night: in the
    task log always, to the webhook and by e-mail when configured. An alert that cannot be
    sent is logged and never raises: it must not hide what it reports."""
    verb = "failed" if level == "failed" else "warns"
    message = (
        f"Sinergi: {dag_id} {verb} for logical date {logical_date} at task {task_id}: {reason}"
    )
    (log.error if level == "failed" else log.warning)(message)
    url = os.environ.get(ALERT_WEBHOOK_ENV)
    if url:
        body = {"level": level, "dag_id": dag_id, "task_id": task_id,
                "logical_date": str(logical_date), "reason": reason}  # fmt: skip
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError as error:
            log.error("could not send the alert to %s: %s", ALERT_WEBHOOK_ENV, error)
    recipients = [a.strip() for a in os.environ.get(ALERT_EMAIL_ENV, "").split(",") if a.strip()]
    if recipients:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        try:
            with SmtpHook(smtp_conn_id=ALERT_SMTP_CONN_ID) as smtp:
                smtp.send_email_smtp(
                    to=recipients,
                    subject=f"[Sinergi] {dag_id}.{task_id} {verb} ({logical_date})",
                    html_content=f"<pre>{html.escape(message)}</pre>",
                )
        except Exception as error:  # SMTP, TLS, a missing connection: all only logged
            log.error("could not send the alert by e-mail (%s): %s", ALERT_EMAIL_ENV, error)


class FailureNotifier(BaseNotifier):
    """Says which DAG, which business day, which task failed and why (``send_alert``): in the
    task log always, to ``SINERGI_ALERT_WEBHOOK`` and ``SINERGI_ALERT_EMAIL`` when set."""

    def notify(self, context) -> None:
        task_instance = context["ti"]
        send_alert(
            "failed",
            task_instance.dag_id,
            task_instance.task_id,
            context.get("logical_date"),
            str(context.get("exception")),
        )
