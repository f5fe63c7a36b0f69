"""`baes reconcile` end to end: real experiments run through the CLI against the simulator."""

from __future__ import annotations

import json
import time

import openai

from baes.reconcile.buckets import parse_timestamp
from baes.simulator import Simulator, SimulatorOptions
from baes.simulator.api.running import RunningSimulator
from baes.simulator.usage_log import root_usage_log
from tests.reconcile.conftest import (
    ADMIN_KEY,
    evidence,
    make_experiment,
    measurements_fingerprint,
    run_records,
    states,
)

SETTLE_S = 0.3


def test_runs_go_from_unverified_to_pending_to_verified_and_the_rest_follows(cli, sim_experiment):
    root = sim_experiment
    before = measurements_fingerprint(root)
    runs = run_records(root)
    assert len(runs) == 6 and set(states(root).values()) == {"unverified"}

    listed = cli("reconcile", "exp", "--list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert {r["state"] for r in json.loads(listed.stdout)["runs"]} == {"unverified"}
    assert evidence(root) == []  # --list reads nothing from the provider and records nothing

    first = cli("reconcile", "exp", "--json")
    assert first.exit_code == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["read"]["ok"] and report["overall"]["pending"] == 6
    assert all(r["provider"] == r["ledger"] for r in report["runs"])
    # Runs ran three at a time, so they share minute buckets; each is judged on all of them.
    assert any(r["shared_with"] > 0 for r in report["runs"])

    time.sleep(SETTLE_S)
    second = cli("reconcile", "exp")
    assert second.exit_code == 0, second.stderr
    assert "verified" in second.stdout and "overall: 6 runs: 6 verified" in second.stdout
    assert set(states(root).values()) == {"verified"}
    for record in run_records(root).values():
        verification = record["verification"]
        assert verification["changed_at"] == verification["summary"]["checked_at"]
        assert "agrees with the ledger" in verification["summary"]["message"]

    reads = evidence(root)
    assert [r["ok"] for r in reads] == [True, True]
    assert [set(r["runs"][rid]["state"] for rid in runs) for r in reads] == [
        {"pending"},
        {"verified"},
    ]
    assert measurements_fingerprint(root) == before  # ledgers and totals untouched

    # The streamed calls of the command framework were metered by the proxy and verified too.
    streamed = [
        json.loads(line)
        for path in (root / "exp/runs/streamer").glob("*/usage.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert streamed and all(e["stream"] and e["usage_reported"] for e in streamed)

    listing = json.loads(cli("list", "--json").stdout)[0]
    assert listing["runs_verified"] == listing["runs_completed"] == 6
    assert "6/6" in cli("list").stdout

    analyzed = cli("analyze", "exp", "--verified-only", "--no-figures")
    assert analyzed.exit_code == 0, analyzed.stderr
    # --verified-only is a partial analysis: written beside the full one.
    stats = json.loads((root / "exp/analysis/partial-verified-only/stats.json").read_text())
    assert stats["verification_coverage"]["overall"]["states"]["verified"] == 6


def test_watch_reads_until_every_run_is_settled(cli, sim_experiment):
    root = sim_experiment
    watched = cli("reconcile", "exp", "--framework", "reference", "--watch", "--interval", "0.1")
    assert watched.exit_code == 0, watched.stderr
    assert "read 1:" in watched.stderr  # progress between reads
    by_framework = {r["framework"]: r["verification"]["state"] for r in run_records(root).values()}
    assert by_framework == {
        "reference": "verified",
        "reference-repair": "unverified",
        "streamer": "unverified",
    }
    assert len(evidence(root)) >= 2


def test_extra_traffic_on_the_same_key_is_a_mismatch_naming_the_bucket(cli, sim_experiment):
    root = sim_experiment
    before = measurements_fingerprint(root)
    run_id, record = next(iter(run_records(root).items()))
    ledger = (root / "exp/runs" / record["framework"] / run_id / "usage.jsonl").read_text()
    first_call = json.loads(ledger.splitlines()[0])
    moment = parse_timestamp(first_call["ts_start"])
    # Another process, same provider, same key, in a minute the runs used.
    intruder = Simulator(SimulatorOptions(usage_log=root_usage_log(root)), clock=lambda: moment)
    with RunningSimulator(intruder).start() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-baes-simulator")
        client.chat.completions.create(
            model="sim-small", messages=[{"role": "user", "content": "Say hello."}]
        )

    assert cli("reconcile", "exp").exit_code == 0  # pending: not yet settled
    time.sleep(SETTLE_S)
    result = cli("reconcile", "exp", "--watch", "--interval", "0.1")
    assert result.exit_code == 1
    assert "mismatch" in result.stdout
    (unit,) = [
        c for c in evidence(root)[-1]["comparisons"] if c["unit"][0] <= moment < c["unit"][1]
    ]
    mismatched = {
        rid: r["verification"]
        for rid, r in run_records(root).items()
        if r["verification"]["state"] == "mismatch"
    }
    assert run_id in mismatched
    message = mismatched[run_id]["summary"]["message"]
    assert "1 more request" in message and unit["label"] in message
    assert "another process used" in message and "with no run of this experiment" in message
    assert measurements_fingerprint(root) == before
    listed = cli("reconcile", "exp", "--list")
    assert listed.exit_code == 1 and "mismatch" in listed.stdout


def test_provider_lag_keeps_runs_pending_until_its_data_settles(
    cli, root, tmp_path, provider_sim, monkeypatch
):
    sim = provider_sim(usage_lag_s=2.0)
    monkeypatch.setenv("TEST_ADMIN_KEY", ADMIN_KEY)
    make_experiment(
        cli, tmp_path, kind="sim", base_url=sim.base_url, admin_key_env="TEST_ADMIN_KEY"
    )

    first = json.loads(cli("reconcile", "exp", "--json").stdout)
    assert first["overall"]["pending"] == 4
    lagging = {r["run_id"] for r in first["runs"] if r["provider"] != r["ledger"]}
    assert lagging
    assert all("fewer" in r["differences"][0] for r in first["runs"] if r["run_id"] in lagging)

    time.sleep(2.1)  # the lag has passed: the provider now shows every call
    second = json.loads(cli("reconcile", "exp", "--json").stdout)
    assert all(r["provider"] == r["ledger"] for r in second["runs"])
    # The lagging runs' data just changed, so they wait for a confirming read.
    assert {r["state"] for r in second["runs"] if r["run_id"] in lagging} == {"pending"}

    time.sleep(SETTLE_S)
    third = cli("reconcile", "exp", "--json")
    assert third.exit_code == 0
    assert json.loads(third.stdout)["overall"]["verified"] == 4


def test_a_failing_provider_leaves_runs_unavailable_with_the_cause_and_no_numbers(
    cli, root, tmp_path, provider_sim, monkeypatch
):
    sim = provider_sim(usage_error_rate=1.0)
    monkeypatch.setenv("TEST_ADMIN_KEY", ADMIN_KEY)
    make_experiment(
        cli, tmp_path, kind="sim", base_url=sim.base_url, admin_key_env="TEST_ADMIN_KEY"
    )
    before = measurements_fingerprint(root)

    result = cli("reconcile", "exp", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["read"]["ok"] is False and report["read"]["attempts"] > 1  # retried
    assert "kept failing" in report["read"]["error"] and "HTTP 500" in report["read"]["error"]
    assert report["overall"]["unavailable"] == 4
    assert all(r["provider"] is None and r["ledger"] is None for r in report["runs"])
    (read,) = evidence(root)
    assert read["ok"] is False and read["buckets"] is None and read["comparisons"] is None
    assert read["error"]["kind"] == "provider-failing"
    assert ADMIN_KEY not in (root / "exp/.meta/reconcile.jsonl").read_text()
    for record in run_records(root).values():
        assert record["verification"]["state"] == "unavailable"
        assert "kept failing" in record["verification"]["summary"]["message"]
    assert measurements_fingerprint(root) == before

    sim.stop()  # --list needs no provider at all
    listed = cli("reconcile", "exp", "--list")
    assert listed.exit_code == 0 and "unavailable" in listed.stdout


def test_an_openai_provider_without_admin_key_is_unavailable_until_one_is_given(
    cli, root, tmp_path, provider_sim, monkeypatch
):
    sim = provider_sim()
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test-user-key")
    monkeypatch.delenv("TEST_ADMIN_KEY", raising=False)
    make_experiment(
        cli,
        tmp_path,
        kind="openai",
        base_url=sim.base_url,
        api_key_env="TEST_OPENAI_KEY",
        admin_key_env="TEST_ADMIN_KEY",
    )
    # --watch stops at once: waiting cannot fix a missing key.
    result = cli("reconcile", "exp", "--watch", "--interval", "0.1")
    assert result.exit_code == 0, result.stderr
    assert set(states(root).values()) == {"unavailable"}
    message = next(iter(run_records(root).values()))["verification"]["summary"]["message"]
    assert "TEST_ADMIN_KEY is not set" in message

    monkeypatch.setenv("TEST_ADMIN_KEY", "sk-not-an-admin-key-123456")
    refused = json.loads(cli("reconcile", "exp", "--json").stdout)
    assert refused["read"]["error_kind"] == "admin-key-refused"
    assert "sk-not-an-admin-key-123456" not in json.dumps(refused)

    monkeypatch.setenv("TEST_ADMIN_KEY", ADMIN_KEY)
    assert cli("reconcile", "exp").exit_code == 0
    time.sleep(SETTLE_S)
    assert cli("reconcile", "exp").exit_code == 0
    assert set(states(root).values()) == {"verified"}


def test_selection_by_run_and_bad_selections(cli, sim_experiment):
    root = sim_experiment
    run_id = next(iter(run_records(root)))
    assert cli("reconcile", "exp", "--run", run_id[:-4]).exit_code == 0
    assert {rid for rid, s in states(root).items() if s != "unverified"} == {run_id}
    unknown = cli("reconcile", "exp", "--framework", "nope")
    assert unknown.exit_code == 2 and "no framework 'nope'" in unknown.stderr
    assert cli("reconcile", "exp", "--run", "nope").exit_code == 2
    assert cli("reconcile", "exp", "--list", "--watch").exit_code == 2
    assert cli("reconcile", "exp", "--interval", "3").exit_code == 2
    assert cli("reconcile", "missing").exit_code == 2
