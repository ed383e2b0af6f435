"""Run the UV benchmark in quick mode so it cannot rot (it asserts agreement with NumPy)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_uv_quick():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_uv.py"
    spec = importlib.util.spec_from_file_location("bench_uv", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(quick=True)
    assert res["speedup_vs_numpy"] > 0
