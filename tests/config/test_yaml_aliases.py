"""YAML aliases in a design: ordinary use works, an alias bomb is refused before it is expanded."""

from __future__ import annotations

import json
import time

from baes.config.yaml_io import MAX_ALIASES, MAX_EXPANDED_NODES


def test_anchors_and_merge_keys_within_the_limits_are_read_as_usual(cli, root, tmp_path):
    design = tmp_path / "exp.yaml"
    design.write_text(
        "name: exp\nmodel: sim-small\nframeworks:\n"
        "  a: &common {adapter: command, step: 'touch out.txt', env: {MODE: fast}}\n"
        "  b: {<<: *common, step: 'touch done.txt'}\n"
        "scenario:\n  name: custom\n  steps:\n"
        "    - {id: one, prompt: &prompt go, check: &check test -f out.txt}\n"
        "    - {id: two, prompt: *prompt, check: *check}\n"
    )
    result = cli("new", "--config", design)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(cli("show", "exp", "--json").stdout)
    assert shown["design"]["frameworks"] == ["a", "b"]
    config = (root / "exp/config.yaml").read_text()
    assert "touch done.txt" in config and config.count("MODE: fast") == 2  # expanded on write


def test_an_alias_bomb_is_refused_quickly_naming_the_line(cli, root, tmp_path):
    levels = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    design = tmp_path / "bomb.yaml"
    design.write_text("name: exp\nmodel: sim-small\n" + "\n".join(levels) + "\n")
    started = time.perf_counter()
    result = cli("new", "--config", design)
    assert time.perf_counter() - started < 5
    assert result.exit_code == 2
    assert f"bomb.yaml:7: YAML aliases expand the design to more than {MAX_EXPANDED_NODES}" in (
        result.stderr
    )
    assert not root.exists() or not any(root.iterdir())


def test_more_aliases_than_the_limit_are_refused(cli, root, tmp_path):
    design = tmp_path / "many.yaml"
    items = ", ".join(["*v"] * (MAX_ALIASES + 1))
    design.write_text(f"name: exp\nmodel: sim-small\nv: &v 1\nlots: [{items}]\n")
    result = cli("new", "--config", design)
    assert result.exit_code == 2
    assert f"many.yaml:4: more than {MAX_ALIASES} YAML aliases" in result.stderr
