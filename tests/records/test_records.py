"""Typed records (docs/records.md): every file a real experiment writes validates against its
model and round-trips, an older run.json is migrated, a newer record is refused in one line,
and `baes schema --record` prints documented schemas."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from baes.records import RECORDS
from baes.records.base import NewerRecordError, RecordError, load_record
from baes.records.evidence import EvidenceRecord
from baes.records.ledger import LedgerLine
from baes.records.manifest import ManifestRecord
from baes.records.progress import RunProgressRecord
from baes.records.registry import RegistryRecord
from baes.records.run import RunRecord
from baes.records.stats import StatsRecord
from tests.reconcile.conftest import make_experiment


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    """An experiments root whose `exp` was made, run, reconciled twice and analysed by the real
    CLI on the embedded simulator."""
    from tests.conftest import Cli

    folder = tmp_path_factory.mktemp("records")
    root = folder / "experiments"
    cli = Cli()

    def at_root(*args):
        return cli(*args, "--root", root)

    make_experiment(at_root, folder)
    for _ in range(2):
        reconciled = at_root("reconcile", "exp")
        assert reconciled.exit_code == 0, reconciled.stderr
        time.sleep(0.35)  # the design's settle interval
    assert at_root("list").exit_code == 0  # writes .registry.json
    analysed = at_root("analyze", "exp")
    assert analysed.exit_code == 0, analysed.stderr
    return root


def _round_trips(model, data: bytes):
    record = load_record(model, data)
    assert json.loads(record.model_dump_json()) == json.loads(data)
    return record


def test_every_file_of_a_real_experiment_validates_and_round_trips(experiment):
    exp = experiment / "exp"
    runs = sorted((exp / "runs").glob("*/*/run.json"))
    assert len(runs) == 4
    for path in runs:
        record = _round_trips(RunRecord, path.read_bytes())
        assert record.status == "completed" and record.schema_version == RunRecord.SCHEMA_VERSION
        # The ledger is the source of the record's counts; every line is a valid LedgerLine.
        lines = (path.parent / "usage.jsonl").read_bytes().splitlines()
        ledger = [_round_trips(LedgerLine, line) for line in lines]
        assert record.totals.calls == len(ledger) > 0
        assert record.totals.input_tokens == sum(e.input_tokens for e in ledger)
    manifest = _round_trips(ManifestRecord, (exp / "runs/manifest.json").read_bytes())
    assert set(manifest.runs) == {p.parent.name for p in runs}
    registry = _round_trips(RegistryRecord, (experiment / ".registry.json").read_bytes())
    assert registry.experiments["exp"].runs_completed == 4
    progress = _round_trips(RunProgressRecord, (exp / ".meta/run-progress.json").read_bytes())
    assert set(progress.frameworks) == {"reference", "reference-repair"}
    reads = (exp / ".meta/reconcile.jsonl").read_bytes().splitlines()
    assert len(reads) == 2
    assert [_round_trips(EvidenceRecord, line).ok for line in reads] == [True, True]


def test_stats_json_is_the_validated_record_with_exactly_the_keys_written(experiment):
    data = (experiment / "exp/analysis/stats.json").read_bytes()
    stats = load_record(StatsRecord, data, "stats.json")
    assert json.loads(data) == stats.model_dump(mode="json", exclude_unset=True)
    assert set(stats.metrics) == set(stats.metric_info) and stats.n_runs == {
        "reference": 2,
        "reference-repair": 2,
    }
    block = stats.metrics["TOK_IN"]
    assert block.primary_contrast is not None and len(block.pairwise) == 1
    with pytest.raises(NewerRecordError):
        load_record(StatsRecord, json.dumps({**json.loads(data), "schema_version": 3}))


def _v1_record(run_json: Path) -> dict:
    """A run.json as baes wrote it before check errors, verification and per-run seeds."""
    record = json.loads(run_json.read_text())
    record["schema_version"] = 1
    for key in ("verification", "seed", "executor"):
        del record[key]
    del record["totals"]["checks_errored"]
    for step in record["steps"]:
        if step["check"] is not None:
            del step["check"]["status"], step["check"]["error_reason"]
    return record


def test_a_version_1_run_record_is_migrated_not_misread(experiment, tmp_path, cli):
    original = sorted((experiment / "exp/runs").glob("*/*/run.json"))[0]
    current = json.loads(original.read_text())
    old = _v1_record(original)

    migrated = load_record(RunRecord, json.dumps(old))
    assert migrated.schema_version == 2 and migrated.seed is None
    assert migrated.executor.kind == "local" and migrated.executor.worker is None
    assert migrated.verification.state == "unverified"
    assert migrated.totals.checks_errored == 0
    checks = [s.check for s in migrated.steps if s.check is not None]
    assert checks and all(c.status == ("passed" if c.passed else "failed") for c in checks)
    assert migrated.steps == RunRecord.model_validate(current).steps

    # Through the CLI: `baes show` counts the old record's checks like a current one's.
    original.write_text(json.dumps(old))
    shown = json.loads(cli("show", "exp", "--json", "--root", experiment).stdout)
    assert shown["checks"]["reference"]["passed"] == 2
    original.write_text(json.dumps(current))


def test_a_record_of_a_newer_version_is_refused_with_one_line(experiment, cli, tmp_path):
    run_json = sorted((experiment / "exp/runs").glob("*/*/run.json"))[0]
    record = json.loads(run_json.read_text())
    with pytest.raises(NewerRecordError, match="newer baes") as refused:
        load_record(RunRecord, json.dumps({**record, "schema_version": 3}), "run record")
    assert refused.value.hint and "upgrade baes" in refused.value.hint

    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(experiment, copy)
    run_json = copy / run_json.relative_to(experiment)
    run_json.write_text(json.dumps({**record, "schema_version": 3}))
    result = cli("run", "exp", "--root", copy)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "schema_version 3, written by a newer baes" in lines[0]
    assert "Traceback" not in result.stderr
    (copy / ".registry.json").write_text(
        json.dumps({"schema_version": 9, "experiments": {}}), "utf-8"
    )
    listed = cli("list", "--root", copy)
    assert listed.exit_code == 2 and "upgrade baes" in listed.stderr
    assert json.loads((copy / ".registry.json").read_text())["schema_version"] == 9


def test_a_malformed_run_json_is_one_line_naming_the_file(experiment, cli, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(experiment, copy)
    run_json = sorted((copy / "exp/runs").glob("*/*/run.json"))[0]
    record = json.loads(run_json.read_text())
    record["totals"]["calls"] = "many"
    run_json.write_text(json.dumps(record))
    result = cli("run", "exp", "--root", copy)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert str(run_json) in first and "totals.calls: Input should be a valid integer" in first


def test_the_registry_reader_checks_exactly_the_fields_of_the_typed_entry():
    # `baes list` reads the registry without pydantic (its start-up budget); the dataclass it
    # reads into must stay the typed record's twin.
    from dataclasses import MISSING, fields

    from baes.records.registry import ExperimentEntry, RegistryRecord
    from baes.store import registry

    assert [f.name for f in fields(registry.RegistryEntry)] == list(ExperimentEntry.model_fields)
    required = {
        f.name
        for f in fields(registry.RegistryEntry)
        if f.default is MISSING and f.default_factory is MISSING
    }
    assert required == {n for n, f in ExperimentEntry.model_fields.items() if f.is_required()}
    assert list(registry._ENTRY_FIELD_TYPES) == list(ExperimentEntry.model_fields)
    assert registry.REGISTRY_SCHEMA_VERSION == RegistryRecord.SCHEMA_VERSION


def test_baes_list_does_not_import_pydantic(experiment, cli):
    import subprocess
    import sys

    assert cli("list", "--root", experiment).exit_code == 0  # entries current: the fast path

    code = (
        "import sys; from baes.cli.app import main; sys.argv = ['baes', 'list', '--root', "
        f"{str(experiment)!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "False", result.stderr


def test_a_record_that_is_not_json_or_not_an_object_is_a_record_error():
    with pytest.raises(RecordError, match="invalid JSON"):
        load_record(RunRecord, b"{ nope")
    with pytest.raises(RecordError, match="a JSON list, not an object"):
        load_record(RunRecord, b"[]")


@pytest.mark.parametrize("name", list(RECORDS))
def test_schema_record_prints_a_schema_whose_properties_are_described(cli, name):
    result = cli("schema", "--record", name)
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "schema_version" in schema["properties"]
    models = [schema, *schema.get("$defs", {}).values()]
    undocumented = [
        f"{model.get('title')}.{key}"
        for model in models
        for key, value in model.get("properties", {}).items()
        if not value.get("description")
    ]
    assert undocumented == []


def test_schema_of_an_unknown_record_is_an_input_error(cli):
    result = cli("schema", "--record", "nope")
    assert result.exit_code == 2 and "unknown record 'nope' (one of run," in result.stderr


def test_a_run_record_that_breaks_its_contract_is_never_written(experiment, tmp_path):
    from baes.errors import WorkError
    from baes.store.run_folders import write_run_record

    record = json.loads(sorted((experiment / "exp/runs").glob("*/*/run.json"))[0].read_text())
    target = tmp_path / "run.json"
    with pytest.raises(WorkError, match="totals.calls: Input should be a valid integer"):
        write_run_record(target, {**record, "totals": {**record["totals"], "calls": "many"}})
    with pytest.raises(WorkError, match="surprise: Extra inputs are not permitted"):
        write_run_record(target, {**record, "surprise": 1})
    assert not target.exists()
    assert write_run_record(target, record).run_id == record["run_id"]
    assert json.loads(target.read_text()) == record


def test_the_run_status_vocabulary_is_one_list():
    # RUN_STATUSES lives outside pydantic for the start-up path; it must say what the model checks.
    from typing import get_args

    from baes.records.run import RunStatus
    from baes.records.statuses import RUN_STATUSES

    assert get_args(RunStatus) == RUN_STATUSES
