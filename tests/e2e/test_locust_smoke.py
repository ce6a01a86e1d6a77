"""A short Locust run of the clients' event mix (locust/events_mix.py): a few users for a
few seconds, headless, against a server with its flusher on. No request may fail, and
every acknowledged event must be in PostgreSQL exactly once and counted by the
statistics API (locust/check_run.py).

The server gets a database of its own (the private_database fixture): the flusher keeps
one stream watermark per database, so entries of this suite's private Redis must not share
one with other Redis instances flushing into the development database.
"""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from support import KEYS, REPO_ROOT

LOCUST = shutil.which("locust", path="/usr/bin:/usr/local/bin")
LOCUST_DIR = REPO_ROOT / "locust"


def test_locust_event_mix_smoke(start_server, private_database, tmp_path):
    if LOCUST is None:
        pytest.fail("locust is not installed (Debian package python3-locust; tools/dev.sh setup installs it)")
    server = start_server("--flusher=true", "--flush-interval-ms=50", f"--pg-dsn={private_database}")
    run_id = uuid.uuid4().hex[:12]
    tally = tmp_path / "tally.json"
    env = dict(os.environ, LT_RUN_ID=run_id, LT_TALLY_FILE=str(tally), LT_WAIT="0.1", LT_SECONDS="4",
               TRACKER_PG_DSN=private_database, TRACKER_WRITE_KEY=KEYS["write"], TRACKER_READ_KEY=KEYS["read"])

    with open(tmp_path / "before.json", "w", encoding="utf-8") as before:
        json.dump({}, before)  # a new database and Redis: every count starts at zero
    locust = subprocess.run(
        [LOCUST, "-f", str(LOCUST_DIR / "events_mix.py"), "--headless", "--host", server.base,
         "-u", "8", "-r", "8", "-t", "6s", "--stop-timeout", "10", "--only-summary",
         "--exit-code-on-error", "1", "--loglevel", "WARNING"],
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL, env=env, cwd=tmp_path)
    output = locust.stdout + locust.stderr
    assert locust.returncode == 0, f"locust exit code {locust.returncode}\n{output}"

    # Locust's summary: no failure at all. (Its CSV is a periodic snapshot that can miss
    # the last second; the tally, written when Locust quits, has every answer.)
    assert "Aggregated" in output and " 0(0.00%)" in output.split("Aggregated", 1)[1].splitlines()[0], output
    counts = json.loads(tally.read_text())
    answers = counts["answers"]
    requests_made = sum(answers.values())
    assert all(key.endswith(" 202") for key in answers), answers
    assert requests_made >= 50, f"only {requests_made} requests in 4 s\n{output}"
    assert counts["sent"] == requests_made, counts
    assert counts["acked"] == requests_made, counts
    assert counts["rejected"] == 0 and counts["unknown"] == 0, counts

    check = subprocess.run(
        [sys.executable, str(LOCUST_DIR / "check_run.py"), "verify", "--base", server.base, "--scenario", "events",
         "--tally", str(tally), "--before", str(tmp_path / "before.json"), "--since", "0", "--fresh",
         "--flush-timeout", "30"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"PASS PostgreSQL: {requests_made} rows" in check.stdout, check.stdout
    assert "PASS statistics API" in check.stdout, check.stdout
