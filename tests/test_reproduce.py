"""`sharpdyn reproduce`: the claims machinery, the run cache, and one end-to-end quick run
(on a Dask LocalCluster) whose claims are checked here against their targets, plus a run
interrupted by Ctrl-C and resumed that must give the same claims."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sharpdyn.cli import main
from sharpdyn.reproduce import ORDER, reproduce
from sharpdyn.reproduce.cache import RunCache, task_key
from sharpdyn.reproduce.claims import Claim

# Claims of the paper that the quick mode (digits, widths 16-64, a few hundred steps) does not
# reproduce, reported as measured in the report (see README "Reproducing the paper").
KNOWN_NEGATIVES = {
    "early/reduction_grows_with_width",  # widths 16-64: the narrowest net has the largest reduction
    "edge/cnn_eos_ratio",  # the tiny CNN's late sharpness sits ~10 % below 2/eta after 300 steps
    "correspondence/fcn_fit_error",  # interpolating FCN: pinned at 2/eta, no UV 2-cycle to match
    "correspondence/fcn_small_fit_error",  # one slope Y = alpha*eta cannot follow the real cascade
    "correspondence/cnn_fit_error",
}


@pytest.mark.parametrize("comparison,target,tol,measured,expected", [
    ("abs", 2.0, 0.1, 2.05, True), ("abs", 2.0, 0.1, 2.2, False),
    ("rel", 4.0, 0.05, 4.19, True), ("rel", 4.0, 0.05, 3.7, False),
    ("at_most", 2.0, 0.0, 1.99, True), ("at_most", 2.0, 0.0, 2.01, False),
    ("at_least", 1.0, 0.0, 1.0, True), ("at_least", 1.0, 0.0, 0.99, False),
    ("within", (1.0, 2.0), 0.1, 2.05, True), ("within", (1.0, 2.0), 0.1, 0.85, False),
    ("abs", 2.0, 0.1, float("nan"), False), ("report", None, 0.0, 3.0, None),
])
def test_claim_check(comparison, target, tol, measured, expected):
    c = Claim("s", "k", "statement", "quantity", measured, target, tol, comparison)
    assert c.passed is expected
    d = json.loads(json.dumps(c.to_dict()))
    assert Claim.from_dict(d).passed is expected


def test_claim_rejects_unknown_comparison():
    with pytest.raises(ValueError, match="comparison"):
        Claim("s", "k", "x", "q", 1.0, 1.0, 0.0, "roughly")


def test_cache_keys_and_atomic_roundtrip(tmp_path):
    cache = RunCache(tmp_path)
    k1 = task_key("m:f", {"a": 1, "b": [1, 2]})
    assert k1 == task_key("m:f", {"b": [1, 2], "a": 1})  # key order does not matter
    assert k1 != task_key("m:f", {"a": 1, "b": [1, 3]}) != task_key("m:g", {"a": 1, "b": [1, 2]})
    assert cache.get(k1) is None
    cache.put(k1, "m:f", {"a": 1}, {"x": np.arange(3.0), "s": np.asarray("text")})
    got = cache.get(k1)
    np.testing.assert_array_equal(got["x"], np.arange(3.0))
    assert str(got["s"]) == "text" and len(cache) == 1 and not list(tmp_path.glob("*.tmp"))
    cache.file(k1).write_bytes(b"truncated")  # an unreadable entry is recomputed, not trusted
    assert cache.get(k1) is None


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="sections"):
        reproduce(tmp_path, sections=["nope"], progress=False, log=None)
    with pytest.raises(ValueError, match="mode"):
        reproduce(tmp_path, mode="medium", progress=False, log=None)
    with pytest.raises(ValueError, match="data_root"):
        reproduce(tmp_path, data_root=tmp_path / "missing", progress=False, log=None)
    with pytest.raises(ValueError, match="dataset"):
        reproduce(tmp_path, dataset="mnist", progress=False, log=None)  # mnist needs data_root


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    """One quick reproduction on a Dask LocalCluster; every figure it saves must pass
    :func:`sharpdyn.figures.checks.check_figure` (data inside the axes, reference lines
    explained, no unexplained empty panel)."""
    from matplotlib.figure import Figure

    from sharpdyn.figures.checks import figure_problems

    out = tmp_path_factory.mktemp("reproduce") / "quick"
    problems: list[str] = []
    savefig = Figure.savefig

    def checked(self, fname, *args, **kwargs):
        problems.extend(f"{Path(str(fname)).name}: {p}" for p in figure_problems(self))
        return savefig(self, fname, *args, **kwargs)

    Figure.savefig = checked
    try:
        res = CliRunner().invoke(main, ["reproduce", "--quick", "--out", str(out)])
    finally:
        Figure.savefig = savefig
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert not problems, "\n".join(problems)
    return out


def _recheck(c: dict) -> bool | None:
    """The pass flag recomputed here from the JSON fields (independent of Claim.passed)."""
    m, t, tol, kind = c["measured"], c["target"], c["tolerance"], c["comparison"]
    if kind == "report":
        return None
    m = float(m)
    if not math.isfinite(m):
        return False
    return {"abs": lambda: abs(m - t) <= tol, "rel": lambda: abs(m / t - 1) <= tol,
            "at_most": lambda: m <= t + tol, "at_least": lambda: m >= t - tol,
            "within": lambda: t[0] - tol <= m <= t[1] + tol}[kind]()


@pytest.mark.slow
def test_quick_reproduction(quick_run):
    out = quick_run
    doc = json.loads((out / "claims.json").read_text())
    assert doc["sections"] == list(ORDER)
    html = (out / "index.html").read_text()
    claims = {f"{c['section']}/{c['key']}": c for c in doc["claims"]}
    for key in ORDER:
        assert f"id='{key}'" in html
        assert any(c["section"] == key for c in doc["claims"]), key
    for name in ("uv_regimes.png", "phase_cY.png", "route_cubic_orbit.png", "early_reduction.png",
                 "early_regimes_width.png", "bifurcation_fcn.png", "bifurcation_fcn_small.png", "bifurcation_cnn.png",
                 "uv_fit_fcn_small.png", "beyond_trajectories.png", "optimizers_adam.png"):
        assert (out / "figures" / name).stat().st_size > 10_000, name
        assert f"figures/{name}" in html
    for c in doc["claims"]:
        assert c["settings"], c["key"]  # every number carries what made it
        assert _recheck(c) == c["passed"], c
    failed = {k for k, c in claims.items() if c["passed"] is False}
    assert failed <= KNOWN_NEGATIVES, failed - KNOWN_NEGATIVES
    # the acceptance examples, against their constants
    assert abs(float(claims["route/feigenbaum_delta"]["measured"]) - 4.669201609) < 1e-3
    assert abs(float(claims["phase/catapult_boundary"]["measured"]) / 2 - 1) < 0.05
    assert abs(float(claims["phase/divergence_boundary"]["measured"]) / 4 - 1) < 0.05
    assert abs(float(claims["early/eos_at_2_over_eta"]["measured"]) - 1) < 0.10
    assert abs(float(claims["edge/fcn_eos_ratio"]["measured"]) - 1) < 0.10
    assert abs(float(claims["edge/fcn_small_eos_ratio"]["measured"]) - 1) < 0.10
    assert float(claims["edge/fcn_small_chaos"]["measured"]) > 0.01  # chaos before divergence
    for k in KNOWN_NEGATIVES & set(claims):
        assert math.isfinite(float(claims[k]["measured"])), k


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_claims(quick_run, tmp_path):
    """Ctrl-C in the middle of a section (torch runs: the interrupted training must not be
    cached as if finished) keeps every finished run; --resume (in this process, no Dask)
    finishes it with exactly the claims of the uninterrupted Dask run."""
    out = tmp_path / "interrupted"
    cmd = [sys.executable, "-m", "sharpdyn", "reproduce", "--out", str(out), "--sections", "beyond",
           "--scheduler", "sync"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cache = out / "cache"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.is_dir() and len(list(cache.glob("*.npz"))) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the section finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    kept = len(list(cache.glob("*.npz")))
    assert kept >= 2 and not list(cache.glob("*.tmp"))
    assert time.monotonic() - t0 < 30
    res = CliRunner().invoke(main, ["reproduce", "--out", str(out), "--sections", "beyond", "--scheduler", "sync",
                                    "--resume"])
    assert res.exit_code == 0, res.output
    resumed = json.loads((out / "claims.json").read_text())["claims"]
    full = [c for c in json.loads((quick_run / "claims.json").read_text())["claims"] if c["section"] == "beyond"]
    assert resumed == full


def test_task_device_one_gpu_per_worker(monkeypatch):
    import dask.distributed
    import torch

    from sharpdyn.reproduce.runner import task_device

    assert task_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert task_device(None) == "cpu"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert task_device("cuda") == "cuda"  # not on a Dask worker: torch's current device
    monkeypatch.setattr(dask.distributed, "get_worker", lambda: type("W", (), {"name": 6})())
    assert task_device("cuda") == "cuda:2"
    assert task_device("cuda:3") == "cuda:3"  # an explicit device is kept
