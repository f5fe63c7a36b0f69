"""The adapter contract: which adapter a framework gets, and how outcomes are reported."""

from __future__ import annotations

import pytest

from baes.config.models import BuiltinFrameworkConfig, CommandFrameworkConfig
from baes.config.presets import framework_document, framework_names
from baes.config.yaml_io import to_plain
from baes.errors import WorkError
from baes.frameworks import FrameworkSetupError, StepOutcome, adapter_for
from baes.frameworks.builtin import BuiltinAdapter
from baes.frameworks.command import CommandAdapter


@pytest.mark.parametrize("name", framework_names())
def test_every_shipped_preset_gets_its_adapter(name):
    document = to_plain(framework_document(name))
    if document["adapter"] == "builtin":
        config = BuiltinFrameworkConfig.model_validate(document)
        expected = BuiltinAdapter
    else:
        config = CommandFrameworkConfig.model_validate(document)
        expected = CommandAdapter
    adapter = adapter_for(name, config)
    assert isinstance(adapter, expected) and adapter.name == name


def test_a_failure_message_is_one_line():
    outcome = StepOutcome.failure("framework", "exited with 1:\n  Traceback\n\tboom  ")
    assert outcome.error_message == "exited with 1: Traceback boom"
    assert not outcome.ok and outcome.error_kind == "framework" and outcome.check is None


def test_a_setup_failure_is_work_that_failed():
    assert issubclass(FrameworkSetupError, WorkError) and FrameworkSetupError.exit_code == 1


def test_the_builtin_agent_reports_its_versions():
    adapter = adapter_for("reference", BuiltinFrameworkConfig(adapter="builtin"))
    assert {"baes", "httpx"} <= set(adapter.versions())
