"""Run the MLP benchmark in quick mode so it cannot rot (it asserts agreement with torch)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")
def test_bench_mlp_quick():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_mlp.py"
    spec = importlib.util.spec_from_file_location("bench_mlp", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(quick=True)
    assert res["hessian"][0]["speedup_vs_autograd"] > 0
    assert res["sweep"]["runs"] == 12 and res["sweep"]["speedup"] > 0
    assert "| P |" in mod.markdown(res)
