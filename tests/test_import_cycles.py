"""No import cycles inside the sharpdyn package.

Every module of the package is parsed with :mod:`ast` (never imported) and every ``import`` /
``from ... import`` statement anywhere in it -- at the top, or deferred inside a function --
becomes an edge to the package module it loads (``from . import x`` is an edge to the module
``x`` when there is one, else to the package; importing ``a.b.c`` from outside ``a.b`` also
loads ``a.b``'s ``__init__``). The package must have no cycle in that graph, so that each
module can be read (and imported) after the modules it uses. The finder itself is checked on
small packages written to a temporary folder, with and without a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sharpdyn


def module_files(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file under the package folder ``root``."""
    files = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join([package, *parts])] = path
    return files


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` (see the module docstring)."""
    files = module_files(root, package)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        base = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                    source = f"{anchor}.{node.module}" if node.module else anchor
                else:
                    source = node.module or ""
                targets.add(source)
                targets.update(f"{source}.{alias.name}" for alias in node.names)
        for target in targets:
            if target not in files:
                continue  # not a module of the package (an attribute, the compiled core, a third party)
            loaded = {target, *(a for a in _ancestors(target) if a in files)}
            # the importer's own packages are already being imported when it runs
            graph[name].update(loaded - {name, *_ancestors(name)})
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_the_finder_sees_a_cycle_through_a_deferred_import(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "",
        "a.py": "from .b import f\n",
        "b.py": "def f():\n    from . import a\n    return a\n",
        "c.py": "import numpy\nfrom . import a\n",
    })
    graph = import_graph(root, "pkg")
    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.a"} and graph["pkg.c"] == {"pkg.a"}
    assert find_cycle(graph) in (["pkg.a", "pkg.b", "pkg.a"], ["pkg.b", "pkg.a", "pkg.b"])


def test_the_finder_follows_subpackages_and_their_init(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "",
        "sub/__init__.py": "from .points import run\nfrom .grid import grid\n",
        "sub/points.py": "from .stats import label\nfrom .. import util\n",
        "sub/stats.py": "from ..util import helper\n",
        "sub/grid.py": "from . import points\n",
        "util.py": "def helper():\n    pass\n",
        "fig.py": "from .sub.stats import label\n",
    })
    graph = import_graph(root, "pkg")
    assert graph["pkg.sub"] == {"pkg.sub.points", "pkg.sub.grid"}
    assert graph["pkg.sub.points"] == {"pkg.sub.stats", "pkg.util"}
    assert graph["pkg.sub.grid"] == {"pkg.sub.points"}
    assert graph["pkg.fig"] == {"pkg.sub", "pkg.sub.stats"}  # loading pkg.sub.stats runs pkg.sub first
    assert find_cycle(graph) is None
    # statistics reaching back up to the grid (through the package's name) closes a cycle
    (root / "sub" / "stats.py").write_text("from ..util import helper\nfrom ..sub import grid\n", encoding="utf-8")
    graph = import_graph(root, "pkg")
    assert graph["pkg.sub.stats"] == {"pkg.util", "pkg.sub.grid"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.sub.stats", "pkg.sub.grid", "pkg.sub.points"}


def test_sharpdyn_has_no_import_cycle():
    root = Path(sharpdyn.__file__).parent
    graph = import_graph(root, "sharpdyn")
    assert {"sharpdyn.uv", "sharpdyn.regimes", "sharpdyn.scan"} <= set(graph)
    assert "sharpdyn.regimes" in graph["sharpdyn.scan"] or any(
        "sharpdyn.regimes" in graph[m] for m in graph if m.startswith("sharpdyn.scan."))
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
