"""Run the chaos benchmark in quick mode so it cannot rot (it asserts that sharpdyn, NumPy and
Numba give identical orbits)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_chaos_quick():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_chaos.py"
    spec = importlib.util.spec_from_file_location("bench_chaos", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(quick=True)
    assert res["speedup_vs_numpy"] > 0 and res["speedup_vs_numpy_expression"] > 0 and res["params"] == 300
    if importlib.util.find_spec("numba") is not None:  # the bench extra
        assert res["speedup_vs_numba"] > 0
