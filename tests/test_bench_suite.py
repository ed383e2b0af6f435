"""``python -m bench --quick`` runs every benchmark area so that none can rot: each area times
sharpdyn beside its baselines and records (and asserts) that they agree to a stated tolerance.
This test runs the suite as a user does and checks what it recorded."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load(name: str):
    key = f"_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, REPO / "bench" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod  # dataclasses look their module up while the class is made
        spec.loader.exec_module(mod)
    return sys.modules[key]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    # `bench` is found from the repository root (cwd); sharpdyn is whatever this interpreter imports
    # (the installed package in CI, or the PYTHONPATH of a development checkout, inherited)
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out)], cwd=REPO,
                          env=dict(os.environ),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), (out / "results.md").read_text(), out


def test_every_area_ran_and_every_check_held(quick_run):
    doc, md, _ = quick_run
    areas = _load("suite").AREAS
    assert list(doc["areas"]) == list(areas)
    assert doc["ok"] is True and doc["quick"] is True
    for name, area in doc["areas"].items():
        assert area["ok"] and "error" not in area, (name, area.get("error"))
        assert area["checks"], f"{name} recorded no agreement check"
        for c in area["checks"]:  # the recorded error really is within the stated tolerance
            assert c["passed"] and math.isfinite(c["error"]) and 0 <= c["error"] <= c["tolerance"], (name, c)
        assert area["figures"], name
        for f in area["figures"]:
            if f.get("reached") is False:
                continue
            assert f["repeats"] == len(f["values"]) >= 1 and f["unit"] is not None
            assert f["min"] <= f["median"] <= f["max"], (name, f)
        assert f"## {name}:" in md


def test_machine_header(quick_run):
    doc, md, _ = quick_run
    m = doc["machine"]
    assert m["cores"] == os.cpu_count() and m["cpu"]
    from sharpdyn import scan

    assert m["kernel_isas_available"] == list(scan.available_isas())
    assert m["kernel_isa_default"] == scan.default_isa()
    assert m["versions"]["numpy"] and m["versions"]["torch"]
    assert f"default ISA `{scan.default_isa()}`" in md


def test_specific_agreements_were_checked(quick_run):
    doc, _, _ = quick_run
    checks = {a: {c["name"]: c for c in doc["areas"][a]["checks"]} for a in doc["areas"]}
    from sharpdyn import scan

    # every ISA of the scan kernel gives the baseline's bits, with the sharpness every step and every 16
    for isa in scan.available_isas():
        for every in (1, 16):
            c = checks["scan"][f"k={every}: ISA {isa} vs baseline (values differing; identical bits expected)"]
            assert c["error"] == 0 and c["tolerance"] == 0
    # sharpdyn's eigenvalues reach the accuracy they were asked for, top-1 and top-3
    for k in (1, 3):
        for target in (1e-3, 1e-4, 1e-6):
            prefix = f"mlp init: sharpdyn top-{k} to {target:g} (seed 0;"
            [c] = [c for n, c in checks["eig"].items() if n.startswith(prefix)]
            assert c["error"] <= target
    # the default HVP equals the recomputing one and forward-over-reverse to float32 rounding
    for net in ("mlp", "cnn", "resnet"):
        for impl in ("sharpdyn recompute", "sharpdyn forward-over-reverse"):
            assert checks["hvp"][f"{net}: HVP of {impl} vs sharpdyn default (relative 2-norm)"]["error"] <= 1e-4
    for peer, module in (("PyHessian", "pyhessian"), ("curvlinops", "curvlinops"),
                         ("hessian-eigenthings", "hessian_eigenthings")):
        if importlib.util.find_spec(module) is not None:  # the bench extra
            assert checks["hvp"][f"mlp: HVP of {peer} vs sharpdyn default (relative 2-norm)"]["error"] <= 1e-4


def test_peers_and_kernels_agree_where_the_suite_says(quick_run):
    doc, _, _ = quick_run
    checks = {a: {c["name"]: c for c in doc["areas"][a]["checks"]} for a in doc["areas"]}
    # dense Hessians: every peer's Hessian equals sharpdyn's, and (Weyl) so does its top eigenvalue
    for peer in ("sharpdyn mlp.hessian, 1 thread", "torch.autograd.functional.hessian", "torch.func.hessian"):
        [h] = [c for n, c in checks["mlp"].items() if n.startswith("P=") and f"Hessian, sharpdyn vs {peer} " in n]
        assert h["error"] <= 1e-10 == h["tolerance"]
        [w] = [c for n, c in checks["mlp"].items() if f"top eigenvalue, sharpdyn vs {peer} (bound" in n]
        assert w["error"] <= 1e-8
    if importlib.util.find_spec("numba") is not None:  # the bench extra: same bits as NumPy
        c = checks["chaos"]["Numba parallel vs NumPy in place: mismatching values (identical bits expected)"]
        assert c["error"] == 0 == c["tolerance"]
    # tracking: the real PyHessian package is run at every measurement (when installed)
    pyhessian_rows = [c for n, c in checks["tracking"].items() if "PyHessian, defaults" in n]
    figures = {f["impl"] for f in doc["areas"]["tracking"]["figures"]}
    if importlib.util.find_spec("pyhessian") is not None:
        assert pyhessian_rows and all(c["error"] <= c["tolerance"] for c in pyhessian_rows)
        assert "PyHessian, defaults (it has no warm start)" in figures
    else:
        assert not pyhessian_rows
    assert not any(i.startswith("power") and "re-implemented" not in i for i in figures)


def test_short_calls_are_repeated_within_a_sample():
    """interleaved(min_sample_s=...) with a fake clock: a call costing 0.01 s is batched 50 to a
    0.25 s sample (1, 2, 5, 10, 20, 50), a 0.3 s call runs once, and per-call seconds come back."""
    suite = _load("suite")
    now = [0.0]
    order = []

    def call(name, cost):
        def fn():
            order.append(name)
            now[0] += cost
            return name
        return fn

    calls = {}
    times, out = suite.interleaved({"fast": call("fast", 0.01), "slow": call("slow", 0.3)}, 3,
                                   clock=lambda: now[0], min_sample_s=0.25, calls=calls)
    assert calls == {"fast": 50, "slow": 1}
    assert times["fast"] == pytest.approx([0.01] * 3) and times["slow"] == pytest.approx([0.3] * 3)
    assert out == {"fast": "fast", "slow": "slow"}
    timed = order[-(3 * 50 + 3):]  # the timed rounds: A, B / B, A / A, B with A batched
    assert timed[:51] == ["fast"] * 50 + ["slow"] and timed[51:102] == ["slow"] + ["fast"] * 50
    calls0 = {}
    times0, _ = suite.interleaved({"fast": call("fast", 0.01)}, 2, clock=lambda: now[0], calls=calls0)
    assert calls0 == {"fast": 1} and times0["fast"] == pytest.approx([0.01, 0.01])


def test_hvp_cost_is_reported_in_gradient_equivalents(quick_run):
    doc, _, _ = quick_run
    figs = [f for f in doc["areas"]["hvp"]["figures"] if f["unit"] == "gradients"]
    rows = {f["row"].split(" ")[0] for f in figs}
    assert rows == {"MLP", "Myrtle-5", "ResNet"}
    seconds = {(f["row"], f["impl"]): f["values"] for f in doc["areas"]["hvp"]["figures"]
               if f["table"].startswith("seconds per product")}
    for f in figs:  # per repeat, the HVP's time over the gradient's time in the same round
        expected = [t / g for t, g in zip(seconds[(f["row"], f["impl"])], seconds[(f["row"], "gradient")])]
        assert f["values"] == pytest.approx(expected, rel=1e-12)


def test_readme_table_is_rendered_from_the_results(quick_run):
    doc, _, out = quick_run
    table = _load("readme_table").render(doc)
    for area in doc["areas"].values():
        for h in area["headlines"]:
            assert h["what"] in table
    assert doc["machine"]["cpu"] in table
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "readme_table.py"), str(out / "results.json"),
                           "--out", str(out / "table.md")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (out / "table.md").read_text() == table
