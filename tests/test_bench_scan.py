"""Run the scan benchmark in quick mode so it cannot rot (it asserts that the kernel, the
NumPy and the Numba implementations agree)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def test_bench_scan_quick():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_scan.py"
    spec = importlib.util.spec_from_file_location("bench_scan", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run(quick=True)
    assert len(res["compare"]) == 2 and all(row["sharpdyn"] > 0 and row["numpy"] > 0 for row in res["compare"])
    assert "baseline" in res["isa"]
