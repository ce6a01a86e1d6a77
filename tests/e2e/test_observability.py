"""What operators see: /metrics as Prometheus reads it (promtool, a real Prometheus on
loopback), the metrics the Grafana board and the alert rules name, the flush lag, and JSON
log lines.

The server here runs its flusher against a PostgreSQL that is not there (a closed port):
the flusher's metrics exist and the flush lag grows, and nothing drains the suite's stream.
"""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from support import api, HTTP_TIMEOUT, LOOPBACK, REPO_ROOT, free_port, post, wait_until

GRAFANA_BOARD = REPO_ROOT / "deploy/grafana/event-tracker.json"
ALERT_RULES = REPO_ROOT / "deploy/prometheus/alerts.yml"
# name, optional {labels} (values are quoted and may hold braces), value
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$')


def unreachable_pg_dsn():
    return f"host={LOOPBACK} port={free_port()} user=tracker dbname=tracker connect_timeout=1"


@pytest.fixture(scope="module")
def server(module_server_factory):
    # Without PostgreSQL it could never load API keys: this server's routes stay open.
    return module_server_factory("--flusher=true", f"--pg-dsn={unreachable_pg_dsn()}",
                                 "--log-format=json", "--auth=off")


def scrape(server):
    response = api.get(server.url("/metrics"), timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
    return response.text


def samples(text):
    """{(name, labels): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line: {line!r}"
        out[(match.group(1), match.group(2) or "")] = float(match.group(3))
    return out


def value(text, name, labels=""):
    return samples(text).get((name, labels))


def families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_metrics_pass_promtool(server, uniq):
    post(server, "/api/events", uniq.event("CLICK"))
    post(server, "/api/events", {"eventType": "CLICK"})
    api.get(server.url("/no/such/path"), timeout=HTTP_TIMEOUT)
    text = scrape(server)
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, f"promtool check metrics:\n{check.stdout}{check.stderr}"


def test_answers_are_counted_by_status_code_and_handlers_timed_by_route(server, uniq):
    before = scrape(server)
    for _ in range(5):
        assert post(server, "/api/events", uniq.event("CLICK")).status_code == 202
    for _ in range(3):
        assert post(server, "/api/events", {"eventType": "CLICK"}).status_code == 400
    assert api.get(server.url("/no/such/path"), timeout=HTTP_TIMEOUT).status_code == 404
    after = scrape(server)

    def grew(name, labels):
        return (value(after, name, labels) or 0) - (value(before, name, labels) or 0)

    assert grew("tracker_http_responses_total", '{code="202"}') == 5
    assert grew("tracker_http_responses_total", '{code="400"}') == 3
    assert grew("tracker_http_responses_total", '{code="404"}') == 1
    route = '{method="POST",route="/api/events"}'
    assert grew("tracker_http_route_duration_seconds_count", route) == 8
    assert grew("tracker_http_route_duration_seconds_sum", route) > 0


def test_flush_lag_grows_while_postgresql_is_away(server, uniq):
    sent = time.monotonic()
    assert post(server, "/api/events", uniq.event("CLICK")).status_code == 202
    # The gauge counts whole seconds from the oldest event waiting (ours, or older ones).
    wait_until(lambda: (value(scrape(server), "tracker_flush_lag_seconds") or 0) >= 3, timeout=20,
               what="tracker_flush_lag_seconds to reach 3 s")
    text = scrape(server)
    assert value(text, "tracker_flush_lag_seconds") >= int(time.monotonic() - sent) - 2
    assert value(text, "tracker_backlog_events") >= 1
    assert value(text, "tracker_flush_failures_total") >= 1


def metric_names_in(expr):
    names = set(re.findall(r'\b(tracker_[a-z0-9_]+)', expr))
    return {re.sub(r'_(bucket|sum|count)$', '', name) for name in names}


def test_the_grafana_board_names_only_metrics_the_server_exports(server):
    board = json.loads(GRAFANA_BOARD.read_text())
    wanted = set()
    for panel in board["panels"]:
        for target in panel["targets"]:
            wanted |= metric_names_in(target["expr"])
    for variable in board["templating"]["list"]:
        wanted |= metric_names_in(variable.get("query", "") if isinstance(variable.get("query"), str) else "")
    assert len(wanted) >= 10
    missing = wanted - families(scrape(server))
    assert not missing, f"the board queries metrics the server does not export: {sorted(missing)}"


def test_the_alert_rules_name_only_metrics_the_server_exports(server, start_server):
    rules = yaml.safe_load(ALERT_RULES.read_text())
    wanted = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            wanted |= metric_names_in(rule["expr"])
    assert len(wanted) >= 6
    # The module's server runs with --auth=off; the API key metrics come from one with keys.
    missing = wanted - families(scrape(server)) - families(scrape(start_server()))
    assert not missing, f"the alert rules name metrics the server does not export: {sorted(missing)}"


def test_prometheus_scrapes_the_server_and_reads_the_ingestion_rate(server, uniq, tmp_path):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.fail("prometheus is not installed (Debian package prometheus; tools/dev.sh setup installs it)")
    port = free_port()
    shutil.copy(ALERT_RULES, tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        "scrape_configs": [{"job_name": "event-tracker",
                            "static_configs": [{"targets": [f"{LOOPBACK}:{server.port}"]}]}],
    }))
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address={LOOPBACK}:{port}"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    prometheus_api = f"http://{LOOPBACK}:{port}/api/v1"

    def query(expr):
        answer = requests.get(f"{prometheus_api}/query", params={"query": expr}, timeout=HTTP_TIMEOUT).json()
        assert answer["status"] == "success", answer
        result = answer["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    try:
        def up():
            try:
                return query('up{job="event-tracker"}') == 1
            except requests.RequestException:
                return False
        wait_until(up, timeout=60, what="Prometheus to scrape the server")
        deadline = time.monotonic() + 8
        sent = 0
        while time.monotonic() < deadline:
            assert post(server, "/api/events", uniq.event("PAGE_VIEW")).status_code == 202
            sent += 1
            time.sleep(0.02)
        rate_expr = 'sum(rate(tracker_events_accepted_total{job="event-tracker"}[5s]))'
        wait_until(lambda: (query(rate_expr) or 0) > 5, timeout=15, what="an ingestion rate in Prometheus")
        groups = requests.get(f"{prometheus_api}/rules", timeout=HTTP_TIMEOUT).json()["data"]["groups"]
        loaded = {rule["name"] for group in groups for rule in group["rules"]}
        expected = {rule["alert"] for group in yaml.safe_load(ALERT_RULES.read_text())["groups"]
                    for rule in group["rules"]}
        assert loaded == expected
        assert sent > 50
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_sampled_access_log_lines_carry_fields_and_the_request_id(start_server, uniq):
    logged = start_server("--log-format=json", "--access-log-sample=1")
    answer = api.post(logged.url("/api/events"), json=uniq.event("CLICK"),
                           headers={"X-Request-Id": "abc-123"}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 202 and answer.headers["X-Request-Id"] == "abc-123"
    odd = api.get(logged.url("/api/statistics?keyword=%FF"), timeout=HTTP_TIMEOUT)
    assert odd.status_code == 400
    generated = odd.headers["X-Request-Id"]
    assert generated and generated != "abc-123"

    def access_lines():  # those of the two requests above (start-up polled /health/live)
        return [entry for entry in (json.loads(line) for line in logged.log_text().splitlines() if line.strip())
                if entry["message"] == "access" and entry["fields"]["target"].startswith("/api/")]
    wait_until(lambda: len(access_lines()) >= 2, timeout=10, what="two access log lines")
    first, second = access_lines()[:2]
    assert first["fields"]["requestId"] == "abc-123"
    assert first["fields"]["method"] == "POST" and first["fields"]["target"] == "/api/events"
    assert first["fields"]["status"] == 202 and first["fields"]["durationMs"] >= 0
    assert first["fields"]["client"] == LOOPBACK
    assert second["fields"]["requestId"] == generated
    assert second["fields"]["target"] == "/api/statistics?keyword=%FF"
    assert second["fields"]["status"] == 400

    assert "peer" not in first["fields"], "no proxy: the client is the peer"

    # Behind a trusted proxy the line names the client it forwarded for, and the proxy.
    proxied = start_server("--log-format=json", "--access-log-sample=1", "--trusted-proxies=127.0.0.1")
    answer = api.post(proxied.url("/api/events"), json=uniq.event("CLICK"),
                      headers={"X-Forwarded-For": "203.0.113.7", "X-Request-Id": "via-proxy"}, timeout=HTTP_TIMEOUT)
    assert answer.status_code == 202

    def proxied_line():
        return [entry for entry in (json.loads(line) for line in proxied.log_text().splitlines() if line.strip())
                if entry["message"] == "access" and entry["fields"].get("requestId") == "via-proxy"]
    wait_until(lambda: proxied_line(), timeout=10, what="the proxied request's access line")
    fields = proxied_line()[0]["fields"]
    assert fields["client"] == "203.0.113.7" and fields["peer"] == LOOPBACK, fields

    quiet = start_server("--log-format=json")
    answer = api.post(quiet.url("/api/events"), json=uniq.event("CLICK"), timeout=HTTP_TIMEOUT)
    assert "X-Request-Id" not in answer.headers
    assert not [line for line in quiet.log_text().splitlines() if '"message":"access"' in line]


def test_log_lines_are_json_objects(server, uniq):
    post(server, "/api/events", uniq.event("CLICK"))
    lines = [line for line in server.log_text().splitlines() if line.strip()]
    assert len(lines) >= 3
    for line in lines:
        entry = json.loads(line)
        assert set(entry) >= {"time", "level", "thread", "message"}, line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), line
