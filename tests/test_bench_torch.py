"""Run the torch benchmark and the GPU check script in quick CPU mode so they cannot rot
(both assert that their implementations agree)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch_reference  # noqa: F401  (one torch thread)

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_torch_quick_agrees():
    mod = _load("bench_torch")
    res = mod.run_case("mlp", quick=True, state="init")
    methods = res["methods"]
    assert methods["sharpdyn_lanczos (cache_graph)"]["rel_error"] <= 1e-4
    assert methods["power_to_1e-4 (oracle stop)"]["rel_error"] <= 1e-4
    assert res["hvp_ratio_vs_power_equal_accuracy"] > 0
    assert "| sharpdyn_lanczos_recompute |" in mod.markdown([res])


def test_cuda_check_runs_on_cpu():
    mod = _load("cuda_check")
    rep = mod.run("cpu", quick=True)
    assert rep["ok"], rep
    assert "HVP cached graph" in mod.markdown(rep)


def test_bench_tracking_quick_agrees():
    mod = _load("bench_tracking")
    res = mod.track("mlp", quick=True)
    assert [row["step"] for row in res["rows"]] == [0, 3, 6]
    for row in res["rows"]:  # every method but PyHessian's own stop reaches the requested accuracy
        for method in (m for m in mod.METHODS if not m.startswith("PyHessian")):
            assert row[method]["rel_error"] <= mod.TARGET, (row["step"], method, row[method])
    # warm starts pay off after the first measurement (same operator, same accuracy)
    later = res["rows"][1:]
    assert sum(r["sharpdyn Lanczos, warm"]["n_hvp"] for r in later) <= sum(r["sharpdyn Lanczos, cold"]["n_hvp"] for r in later)
    assert "| **total** |" in mod.markdown([res])
