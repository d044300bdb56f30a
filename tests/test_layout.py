"""The package's layout: no import cycle, pynet's module paths, and the
rooms of the architecture (data -> interface -> training -> observers ->
board -> server; the clustering research apart)."""
import ast
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "moevae"
PYNET_MODULES = ("interfaces", "datasets", "plotting", "history",
                 "observable", "losses", "metrics", "models")
TOP_LEVEL_MODULES = {"__init__", "__main__", "interfaces", "observable",
                     "history", "losses", "metrics", "errors", "fileio",
                     "log", "transforms"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(path: Path, modules: Set[str]) -> Set[str]:
    """The moevae modules that importing ``path`` runs: module-level
    imports (also under ``if TYPE_CHECKING``), and every package above
    each one (its __init__ runs first), except the module's own packages
    (already being imported when it runs)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: Set[str] = set()
    tree = ast.parse(path.read_text())
    nodes = [node for node in tree.body]
    nodes += [inner for node in tree.body if isinstance(node, ast.If)
              for inner in node.body]
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module
                                          else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    edges = set()
    for target in found:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            own = name == prefix or name.startswith(prefix + ".")
            if prefix in modules and not own:
                edges.add(prefix)
    return edges


def import_graph() -> Dict[str, Set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): module_imports(path, modules)
            for path in paths}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_training_machinery_knows_no_interface():
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("moevae.training"):
            assert "moevae.interfaces" not in targets, name


def test_the_package_top_holds_only_the_shared_modules():
    flat = {path.stem for path in PACKAGE.glob("*.py")}
    assert flat <= TOP_LEVEL_MODULES, flat - TOP_LEVEL_MODULES


@pytest.mark.parametrize("name", PYNET_MODULES)
def test_pynet_module_paths_import(name):
    assert importlib.import_module(f"moevae.{name}")


def test_the_seed_example_imports_work_in_a_fresh_interpreter():
    code = ("from moevae.datasets import DataManager, fetch_minst\n"
            "from moevae.interfaces import DeepLearningInterface\n"
            "from moevae.plotting import Board, update_board\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
