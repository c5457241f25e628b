"""Alert sources, pure: the reference payloads parse; signatures, tokens and shapes are checked."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from bot.alerts import alertmanager, sentry
from bot.alerts.model import AlertStatus, BadPayload, Unauthorized

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
NOW = 1_800_000_000.0


def ref(path: str) -> bytes:
    return (REFERENCE / path).read_bytes()


def sentry_headers(body: bytes, resource: str, *, secret: str = "s3cret", at: float = NOW) -> dict[str, str]:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(at)),
        "Sentry-Hook-Signature": sig,
    }


def test_sentry_issue_alert_fires_keyed_by_issue() -> None:
    body = ref("sentry/issue_alert_triggered.json")
    headers = sentry_headers(body, "event_alert")
    sentry.verify(secret="s3cret", body=body, headers=headers, now=NOW)
    [alert] = sentry.parse(body=body, headers=headers)
    assert alert.key == "issue:1117540176"
    assert alert.status is AlertStatus.FIRING
    assert alert.title == "ReferenceError: heck is not defined"
    assert alert.severity == "error"
    assert alert.links[0].url.startswith("https://sentry.io/organizations/test-org/issues/1117540176/")


def test_sentry_metric_alert_resolved() -> None:
    body = ref("sentry/metric_alert_resolved.json")
    [alert] = sentry.parse(body=body, headers={"Sentry-Hook-Resource": "metric_alert"})
    assert alert.key == "metric:4"
    assert alert.status is AlertStatus.RESOLVED
    assert alert.title == "Resolved: Too many errors"
    assert alert.summary == "1000 events in the last 10 minutes\nFilter: level:error"


@pytest.mark.parametrize("action,severity", [("critical", "critical"), ("warning", "warning")])
def test_sentry_metric_alert_levels(action: str, severity: str) -> None:
    data = json.loads(ref("sentry/metric_alert_resolved.json"))
    data["action"] = action
    [alert] = sentry.parse(body=json.dumps(data).encode(), headers={"Sentry-Hook-Resource": "metric_alert"})
    assert alert.status is AlertStatus.FIRING and alert.severity == severity


def test_sentry_signature_is_over_the_raw_bytes() -> None:
    body = ref("sentry/issue_alert_triggered.json")
    headers = sentry_headers(body, "event_alert")
    reserialised = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    with pytest.raises(Unauthorized):
        sentry.verify(secret="s3cret", body=reserialised, headers=headers, now=NOW)
    with pytest.raises(Unauthorized):
        sentry.verify(secret="other", body=body, headers=headers, now=NOW)
    with pytest.raises(Unauthorized, match="missing signature"):
        sentry.verify(secret="s3cret", body=body, headers={"Sentry-Hook-Timestamp": str(NOW)}, now=NOW)


@pytest.mark.parametrize("stamp", ["", "abc", str(int(NOW - 3600)), str(int(NOW + 3600))])
def test_sentry_stale_or_malformed_timestamp_refused(stamp: str) -> None:
    body = ref("sentry/issue_alert_triggered.json")
    headers = {**sentry_headers(body, "event_alert"), "Sentry-Hook-Timestamp": stamp}
    with pytest.raises(Unauthorized):
        sentry.verify(secret="s3cret", body=body, headers=headers, now=NOW)


def test_sentry_other_resources_carry_no_alert() -> None:
    assert sentry.parse(body=b"{}", headers={"Sentry-Hook-Resource": "installation"}) == []


@pytest.mark.parametrize(
    "body,reason",
    [
        (b"\xff\xfe", "not JSON"),
        (b"[]", "metric_alert"),
        (b'{"action": "critical", "data": {}}', "data.metric_alert"),
        (b'{"action": "exploded", "data": {"metric_alert": {"id": 1, "alert_rule": {"id": 2}}}}', "action"),
    ],
)
def test_sentry_bad_shapes_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        sentry.parse(body=body, headers={"Sentry-Hook-Resource": "metric_alert"})


def test_sentry_issue_resource_created_and_resolved() -> None:
    issue = {"id": "42", "title": "TypeError in checkout", "level": "error", "web_url": "javascript:alert(1)"}
    created = json.dumps({"action": "created", "data": {"issue": issue}}).encode()
    [alert] = sentry.parse(body=created, headers={"Sentry-Hook-Resource": "issue"})
    assert alert.key == "issue:42" and alert.firing and alert.links == ()  # non-http link dropped
    resolved = json.dumps({"action": "resolved", "data": {"issue": issue}}).encode()
    [alert] = sentry.parse(body=resolved, headers={"Sentry-Hook-Resource": "issue"})
    assert alert.status is AlertStatus.RESOLVED
    assigned = json.dumps({"action": "assigned", "data": {"issue": issue}}).encode()
    assert sentry.parse(body=assigned, headers={"Sentry-Hook-Resource": "issue"}) == []


def test_alertmanager_reference_payload() -> None:
    [alert] = alertmanager.parse(body=ref("alertmanager/firing.json"))
    assert alert.key == '{}:{alertname="CheckoutErrorRate"}:c0ffee0123456789'
    assert alert.firing and alert.severity == "critical"
    assert alert.title == "Checkout error rate above 5%"
    assert alert.labels["instance"] == "edge-1" and alert.labels["service"] == "shop"
    assert alert.ended_at is None and alert.started_at == 1_795_773_600.0  # 2026-11-27T10:00:00Z
    assert alert.links[0].url.startswith("http://prometheus.example:9090/graph")


def test_alertmanager_bearer_token() -> None:
    alertmanager.verify_bearer(token="tok", headers={"Authorization": "Bearer tok"})
    for given in (None, "Bearer nope", "Basic tok", "Bearer", "tok"):
        with pytest.raises(Unauthorized):
            alertmanager.verify_bearer(token="tok", headers={"Authorization": given} if given else {})


@pytest.mark.parametrize(
    "mutate,reason",
    [
        (lambda d: d.update(version="3"), "version"),
        (lambda d: d.pop("alerts"), "alerts"),
        (lambda d: d["alerts"][0].update(status="exploded"), "status"),
        (lambda d: d["alerts"][0].update(fingerprint=""), "fingerprint"),
        (lambda d: d["alerts"][0].update(startsAt="yesterday"), "RFC 3339"),
        (lambda d: d["alerts"][0].update(labels=["x"]), "labels"),
    ],
)
def test_alertmanager_bad_shapes_say_why(mutate, reason: str) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(ref("alertmanager/firing.json"))
    mutate(data)
    with pytest.raises(BadPayload, match=reason):
        alertmanager.parse(body=json.dumps(data).encode())


def grafana_body() -> bytes:
    data = json.loads(ref("alertmanager/firing.json"))
    data.update(version="1", orgId=1, title="[FIRING:1] CheckoutErrorRate", state="alerting", message="m")
    data["alerts"][0].update(dashboardURL="https://grafana.example/d/abc", valueString="[ var='A' value=7 ]")
    return json.dumps(data).encode()


def test_grafana_keyed_by_fingerprint_with_dashboard_link() -> None:
    [alert] = alertmanager.parse(body=grafana_body(), source="grafana")
    assert alert.source == "grafana" and alert.key == "c0ffee0123456789"
    assert [link.text for link in alert.links] == ["Source", "Dashboard"]


def test_grafana_hmac_with_and_without_timestamp() -> None:
    body = grafana_body()
    plain = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    alertmanager.verify_grafana(
        secret="k", body=body, headers={"X-Grafana-Alert-Signature": plain}, timestamp_header=None, now=NOW
    )
    stamp = str(int(NOW))
    signed = hmac.new(b"k", f"{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Grafana-Alert-Signature": signed, "X-Grafana-Alert-Timestamp": stamp}
    alertmanager.verify_grafana(
        secret="k", body=body, headers=headers, timestamp_header="X-Grafana-Alert-Timestamp", now=NOW
    )
    with pytest.raises(Unauthorized):  # the plain signature does not cover the timestamp
        alertmanager.verify_grafana(
            secret="k",
            body=body,
            headers={**headers, "X-Grafana-Alert-Signature": plain},
            timestamp_header="X-Grafana-Alert-Timestamp",
            now=NOW,
        )
