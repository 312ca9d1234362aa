"""The failure notifier says which DAG, night, task and why; to a webhook when configured."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

from sinergi.airflow_adapter import FailureNotifier


def test_failure_is_logged_and_posted_to_the_webhook(monkeypatch, caplog):
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    monkeypatch.setenv("SINERGI_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/alert")
    context = {
        "ti": SimpleNamespace(dag_id="ingest_umkm_penerima", task_id="wait_for_delivery"),
        "logical_date": "2026-01-05T02:00:00+07:00",
        "exception": RuntimeError("umkm_penerima: no delivery umkm/umkm_penerima_20260105.csv"),
    }
    FailureNotifier().notify(context)
    thread.join(timeout=10)
    server.server_close()
    assert "ingest_umkm_penerima failed for logical date 2026-01-05" in caplog.text
    assert received == [
        {
            "dag_id": "ingest_umkm_penerima",
            "task_id": "wait_for_delivery",
            "logical_date": "2026-01-05T02:00:00+07:00",
            "reason": "umkm_penerima: no delivery umkm/umkm_penerima_20260105.csv",
        }
    ]


def test_an_unreachable_webhook_does_not_hide_the_failure(monkeypatch, caplog):
    monkeypatch.setenv("SINERGI_ALERT_WEBHOOK", "http://127.0.0.1:9/nobody-listens")
    context = {"ti": SimpleNamespace(dag_id="d", task_id="t"), "exception": ValueError("x")}
    FailureNotifier().notify(context)
    assert "could not send the alert" in caplog.text
