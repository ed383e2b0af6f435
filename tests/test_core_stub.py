"""The shipped type stub of the compiled core lists exactly what the extension defines.

Regenerate after changing a binding: ``pybind11-stubgen sharpdyn._core -o python``
(``pip install .[dev]``)."""

from __future__ import annotations

import ast
from pathlib import Path

import sharpdyn
from sharpdyn import _core

STUB = Path(sharpdyn.__file__).with_name("_core.pyi")


def _stub_names() -> set[str]:
    tree = ast.parse(STUB.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def test_stub_matches_the_extension():
    public = {n for n in dir(_core) if not n.startswith("_")}
    assert _stub_names() == public


def test_stub_signatures_name_the_arguments():
    tree = ast.parse(STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            doc = getattr(_core, node.name).__doc__ or ""
            for arg in node.args.args:
                assert f"{arg.arg}:" in doc or f"{arg.arg}=" in doc, (node.name, arg.arg)
