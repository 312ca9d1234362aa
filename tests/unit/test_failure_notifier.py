"""Alerts say which DAG, night, task and why: in the log, to a webhook and by e-mail when
configured (the failure notifier on every DAG, and warnings such as stale sources)."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from types import SimpleNamespace

from sinergi.airflow_adapter import FailureNotifier, send_alert


def test_failure_is_logged_and_posted_to_the_webhook(alert_webhook, caplog):
    context = {
        "ti": SimpleNamespace(dag_id="ingest_umkm_penerima", task_id="wait_for_delivery"),
        "logical_date": "2026-01-05T02:00:00+07:00",
        "exception": RuntimeError("umkm_penerima: no delivery umkm/umkm_penerima_20260105.csv"),
    }
    FailureNotifier().notify(context)
    assert "ingest_umkm_penerima failed for logical date 2026-01-05" in caplog.text
    assert alert_webhook == [
        {
            "level": "failed",
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


class _SmtpStub(socketserver.StreamRequestHandler):
    """Just enough of an SMTP server to receive one message (RFC 5321, no TLS)."""

    received: list[dict] = []

    def handle(self):
        self.wfile.write(b"220 stub\r\n")
        message = {"to": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            if command.upper() == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                message["data"] = "".join(body)
                self.received.append(message)
                self.wfile.write(b"250 queued\r\n")
            elif command.upper().startswith("RCPT TO:"):
                message["to"].append(command[8:].strip(" <>"))
                self.wfile.write(b"250 ok\r\n")
            elif command.upper() == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif command.upper().startswith("EHLO"):
                self.wfile.write(b"250 stub\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")


def test_a_warning_is_sent_by_email_through_the_smtp_connection(monkeypatch, caplog):
    server = socketserver.TCPServer(("127.0.0.1", 0), _SmtpStub)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": server.server_address[1],
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "sinergi@test.invalid"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("SINERGI_ALERT_EMAIL", "oncall@test.invalid, lead@test.invalid")
    monkeypatch.delenv("SINERGI_ALERT_WEBHOOK", raising=False)
    _SmtpStub.received.clear()
    send_alert(
        "warning", "warehouse", "check_source_freshness", "2026-01-05",
        "kp2mi_pmi: warn, last loaded 40.0 h ago (limit 30 h)",
    )  # fmt: skip
    thread.join(timeout=30)
    server.server_close()
    assert "warehouse warns for logical date 2026-01-05" in caplog.text
    [mail] = _SmtpStub.received
    assert mail["to"] == ["oncall@test.invalid", "lead@test.invalid"]
    assert "Subject: [Sinergi] warehouse.check_source_freshness warns (2026-01-05)" in mail["data"]
    parts = email.message_from_string(mail["data"]).walk()
    body = "".join(p.get_payload(decode=True).decode() for p in parts if not p.is_multipart())
    assert "kp2mi_pmi: warn, last loaded 40.0 h ago (limit 30 h)" in body


def test_an_email_that_cannot_be_sent_does_not_hide_the_alert(monkeypatch, caplog):
    nobody_listens = {"disable_ssl": True, "disable_tls": True, "from_email": "s@test.invalid",
                      "timeout": 5, "retry_limit": 0}  # fmt: skip
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": 9, "extra": nobody_listens}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("SINERGI_ALERT_EMAIL", "oncall@test.invalid")
    monkeypatch.delenv("SINERGI_ALERT_WEBHOOK", raising=False)
    send_alert("failed", "d", "t", "2026-01-05", "x")
    assert "d failed for logical date 2026-01-05 at task t: x" in caplog.text
    assert "could not send the alert by e-mail" in caplog.text
