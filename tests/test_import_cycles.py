"""The import rules of docs/architecture.md: no cycles, and every import points down the layers.

No cycles: the module graph, function-level imports included, is acyclic.

A function-level import hides a cycle from Python but not from a reader: the two modules still
cannot be understood (or moved) one without the other. Imports under `if TYPE_CHECKING:` are
annotations only and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import baes

PACKAGE = Path(baes.__file__).parent

# The layers of docs/architecture.md, bottom up. A module may import a module of a lower layer, or
# one of its own package (the longest prefix listed here). A new package needs a line here.
LAYERS = {
    # Leaves: import nothing of baes.
    "baes": 0,  # the package itself (__version__), not its subpackages
    "baes.errors": 0,
    "baes.clock": 0,
    "baes.file_blocks": 0,
    "baes.http_retry": 0,
    "baes.redaction": 0,
    # The typed on-disk records.
    "baes.records": 10,
    # The design, and the folders and files of experiments.
    "baes.config": 20,
    "baes.store": 20,
    # The LLM plumbing the proxy and the simulator share: ledger, loopback server, error envelope.
    "baes.llm": 30,
    # What a run is made of: experiments, framework adapters, the proxy, the simulator.
    "baes.experiment": 40,
    "baes.frameworks": 40,
    "baes.llm.proxy": 40,
    "baes.simulator": 40,
    # The statistics (the engine's stopping rule uses them).
    "baes.analysis": 50,
    # The two jobs: running experiments, reconciling their usage.
    "baes.engine": 60,
    "baes.reconcile": 60,
    # The lifecycle commands' libraries: they read runs through the metric catalog and the
    # dataset, and respect the engine's run lock, so they sit above both although they live in
    # baes.experiment (a package of their own would say so better).
    "baes.experiment.export": 65,
    "baes.experiment.remove": 65,
    "baes.experiment.runs": 65,
    # The local web viewer (`baes view`, on its branch as this was written): pages over all of it.
    "baes.view": 66,
    # The command line, and `python -m baes`.
    "baes.cli": 70,
    "baes.__main__": 80,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.AST) -> list[str]:
    """Every `baes…` name an import statement anywhere in the tree reaches (modules and members)."""
    names: list[str] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            assert isinstance(node, ast.If)
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "baes uses absolute imports only"
            if node.module:
                names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        pending.extend(ast.iter_child_nodes(node))
    return [name for name in names if name == "baes" or name.startswith("baes.")]


def import_graph() -> dict[str, set[str]]:
    """module -> the baes modules it imports (a member import counts as its module's)."""
    sources = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, path in sources.items():
        for target in imported_names(ast.parse(path.read_text(encoding="utf-8"))):
            while target not in sources:
                target = target.rpartition(".")[0]
            if target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_of(module: str) -> str | None:
    """The LAYERS entry a module belongs to: the longest listed prefix (`baes` only itself)."""
    matches = [
        key for key in LAYERS if module == key or (key != "baes" and module.startswith(key + "."))
    ]
    return max(matches, key=len, default=None)


def _in_simulator(module: str) -> bool:
    return module == "baes.simulator" or module.startswith("baes.simulator.")


def test_no_import_cycles():
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function():
    tree = ast.parse("import baes.x\ndef f():\n    from baes.y import z\n")
    assert sorted(imported_names(tree)) == ["baes.x", "baes.y", "baes.y.z"]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    annotations_only = ast.parse("if TYPE_CHECKING:\n    import baes.x\nelse:\n    import baes.y\n")
    assert imported_names(annotations_only) == ["baes.y"]


def test_the_framework_adapters_do_not_import_the_simulator():
    graph = import_graph()
    for module in ("baes.frameworks.builtin", "baes.frameworks.contract"):
        assert not any(_in_simulator(target) for target in graph[module]), module


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a module of the same or a higher layer, outside the importer's own package."""
    upward = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            assert own is not None and theirs is not None
            if theirs != own and LAYERS[theirs] >= LAYERS[own]:
                upward.append(f"{module} ({own}) -> {target} ({theirs})")
    return upward


def test_every_import_points_down_the_layers():
    graph = import_graph()
    unranked = sorted(m for m in graph if layer_of(m) is None)
    assert not unranked, f"add these to LAYERS in {__name__}: {', '.join(unranked)}"
    upward = upward_imports(graph)
    assert not upward, "imports that do not point down the layers:\n" + "\n".join(upward)


def test_the_layer_rule_catches_upward_and_sideways_imports():
    assert layer_of("baes.llm.proxy.app") == "baes.llm.proxy"
    assert layer_of("baes.llm.ledger") == "baes.llm"
    assert layer_of("baes") == "baes" and layer_of("baes.nothing") is None
    graph = {
        "baes.store.paths": {"baes.errors", "baes.store.atomic"},  # down, and its own package
        "baes.store.atomic": {"baes.engine.one_run"},  # up
        "baes.engine.one_run": {"baes.reconcile.judge"},  # sideways: same layer, other package
        "baes.reconcile.judge": set(),
        "baes.errors": set(),
    }
    assert upward_imports(graph) == [
        "baes.engine.one_run (baes.engine) -> baes.reconcile.judge (baes.reconcile)",
        "baes.store.atomic (baes.store) -> baes.engine.one_run (baes.engine)",
    ]
