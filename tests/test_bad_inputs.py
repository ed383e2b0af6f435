"""Issue #12 (parts 2 and 3): bad inputs and huge requests are refused before any work starts,
with a ValueError/TypeError naming the argument -- never a crash, a hang, a silent truncation
of complex numbers or a NaN result.

The corpus (tests/bad_inputs_corpus.py) runs in a subprocess with a timeout and an
address-space limit, so a crash or a hang fails these tests instead of killing the run;
hypothesis strategies throw NaN, infinities, complex numbers, negative and huge values at the
numeric arguments of the main entry points in-process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharpdyn import chaos, data, mlp, scan, spectra, uv, validation

from bad_inputs_corpus import CORPUS, ROW_SECONDS

TESTS = Path(__file__).resolve().parent
RUNNER_TIMEOUT = 120  # seconds for the whole corpus (about 5 s on an idle 2-core machine)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (validation.MAX_BYTES_ENV, validation.MAX_DISK_BYTES_ENV)}
    env["OMP_NUM_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def corpus_results() -> dict:
    """Run the whole corpus once in a subprocess; ``{"rows": {id: outcome}, "problem": str|None}``."""
    try:
        proc = subprocess.run([sys.executable, str(TESTS / "bad_inputs_corpus.py")], capture_output=True, text=True,
                              timeout=RUNNER_TIMEOUT, env=_env(), cwd=TESTS)
        out, err, problem = proc.stdout, proc.stderr, None
        if proc.returncode != 0:
            problem = f"the corpus runner exited with {proc.returncode}"
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        problem = f"the corpus runner hung (killed after {RUNNER_TIMEOUT} s)"
    rows = {}
    for line in out.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["id"]] = row
    if problem is not None:
        started = [line[6:] for line in err.splitlines() if line.startswith("START ")]
        problem += f" while running row {started[-1]!r}" if started else " before the first row"
        problem += "; stderr tail:\n" + err[-2000:]
    return {"rows": rows, "problem": problem}


@pytest.mark.parametrize("row_id, call, exc_name, word", CORPUS, ids=[r[0] for r in CORPUS])
def test_corpus_row_is_refused(corpus_results, row_id, call, exc_name, word):
    row = corpus_results["rows"].get(row_id)
    assert row is not None, f"{call}: no result ({corpus_results['problem']})"
    assert row["raised"] is not None, f"{call} returned {row['returned']} instead of raising {exc_name}"
    assert row["raised"] == exc_name, f"{call} raised {row['raised']}: {row['message']}"
    assert word in row["message"], f"{call}: the message does not name {word!r}: {row['message']}"
    assert row["seconds"] < ROW_SECONDS, f"{call} took {row['seconds']:.2f} s to refuse"


def test_corpus_runner_neither_crashes_nor_hangs(corpus_results):
    assert corpus_results["problem"] is None, corpus_results["problem"]
    assert set(corpus_results["rows"]) == {r[0] for r in CORPUS}


def test_corpus_ids_are_unique():
    ids = [r[0] for r in CORPUS]
    assert len(ids) == len(set(ids))


# ------------------------------------------------------------------------ command line


def _cli(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sharpdyn", *args], capture_output=True, text=True, timeout=60,
                          env=_env(), cwd=tmp_path)
    return proc, time.perf_counter() - t0


def test_cli_orbit_refuses_a_billion_parameters_before_writing(tmp_path):
    """Was: 38 s and 15.7 GB of memory before refusing."""
    out = tmp_path / "orbit"
    proc, seconds = _cli(["orbit", "--num", "1000000000", "--out", str(out)], tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--num" in proc.stderr and validation.MAX_BYTES_ENV in proc.stderr
    assert not out.exists()
    assert seconds < 20


def test_cli_scan_refuses_a_huge_grid_before_writing(tmp_path):
    """Was: 4 GB written before the process was killed."""
    out = tmp_path / "scan"
    proc, seconds = _cli(["scan", "--c", "0.1:1:100000", "--Y", "0.1:1:100000", "--out", str(out), "--format", "zarr"],
                         tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "axes" in proc.stderr and validation.MAX_BYTES_ENV in proc.stderr
    assert not out.exists()  # nothing written, not even the folder
    assert seconds < 20


# ------------------------------------------------------------------- limits and overrides


def test_parse_and_format_bytes():
    assert validation.parse_bytes("1000", "x") == 1000
    assert validation.parse_bytes("512M", "x") == 512 * 2**20
    assert validation.parse_bytes("1.5G", "x") == 3 * 2**29
    assert validation.parse_bytes("200GiB", "x") == 200 * 2**30
    assert validation.parse_bytes("2t", "x") == 2 * 2**40
    for bad in ("", "lots", "-5", "1Q", "nan"):
        with pytest.raises(ValueError, match="x must be"):
            validation.parse_bytes(bad, "x")
    assert validation.format_bytes(1536) == "1.5 KiB"
    assert validation.format_bytes(8 * 10**12) == "7.3 TiB"


def test_available_memory_is_plausible():
    avail = validation.available_memory()
    assert avail is None or 0 < avail <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def test_memory_limit_env_refuses_and_allows(monkeypatch):
    lr = np.linspace(0.5, 1.5, 100)
    monkeypatch.setenv(validation.MAX_BYTES_ENV, "1K")
    with pytest.raises(ValueError, match=r"lr, ntk0, f0.*17\.2 KiB.*SHARPDYN_MAX_BYTES=1K"):
        scan.uv(lr, 1.0, 0.0, width=16, steps=5)
    with pytest.raises(ValueError, match="width"):
        uv.init(1000)
    monkeypatch.setenv(validation.MAX_BYTES_ENV, "1M")
    res = scan.uv(lr, 1.0, 0.0, width=16, steps=5)
    assert res.shape == (100,)
    # above the machine's memory: the override is the user's explicit decision (nothing allocated here)
    monkeypatch.setenv(validation.MAX_BYTES_ENV, "1P")
    validation.check_allocation(2**45, "x")
    monkeypatch.delenv(validation.MAX_BYTES_ENV)
    with pytest.raises(ValueError, match="^x: .*8.0 PiB"):
        validation.check_allocation(2**53, "x")
    monkeypatch.setenv(validation.MAX_BYTES_ENV, "plenty")
    with pytest.raises(ValueError, match="SHARPDYN_MAX_BYTES must be"):
        uv.init(8)


def test_store_without_room_is_refused_before_it_is_created(tmp_path, monkeypatch):
    store = tmp_path / "scan.zarr"
    monkeypatch.setenv(validation.MAX_DISK_BYTES_ENV, "1000")
    with pytest.raises(ValueError, match="store: .*SHARPDYN_MAX_DISK_BYTES"):
        scan.grid({"c": np.linspace(0.5, 3, 20)}, width=64, steps=10, store=store, progress=False)
    assert not store.exists()
    monkeypatch.setenv(validation.MAX_DISK_BYTES_ENV, "1M")
    ds = scan.grid({"c": np.linspace(0.5, 3, 20)}, width=64, steps=10, store=store, progress=False)
    assert store.exists() and ds["regime"].shape == (20,)


def test_grid_memory_estimate_covers_what_a_grid_uses(monkeypatch):
    """The per-point estimate is not below what scan.grid actually allocates (tracemalloc)."""
    import tracemalloc

    axes = {"c": np.linspace(0.5, 3, 200), "Y": np.linspace(0.1, 1, 100)}
    scan.grid(axes, steps=5, progress=False, chunk_size=4000)  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        scan.grid(axes, steps=5, progress=False, chunk_size=4000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= scan.GRID_BYTES_PER_POINT * 200 * 100
    tracemalloc.start()
    try:
        scan.uv(axes["c"][:, None], 1.0, axes["Y"][None, :], width=64, steps=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= scan.SCAN_BYTES_PER_POINT * 200 * 100


def test_fixed_points_period_is_bounded():
    from sharpdyn.fixed_points import MAX_PERIOD

    with pytest.raises(ValueError, match=f"period must be <= {MAX_PERIOD}"):
        uv.fixed_points(lr=0.5, width=64, y=17.6, period=MAX_PERIOD + 1)
    t0 = time.perf_counter()
    uv.fixed_points(lr=0.5, width=64, y=17.6, period=MAX_PERIOD)
    assert time.perf_counter() - t0 < 10  # bounded (about 0.5 s idle)


# ---------------------------------------------------------------------------- hypothesis

bad_reals = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e6).filter(lambda z: z.imag != 0),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(np.complex128),  # complex dtype, zero imaginary part
    st.lists(st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=10), min_size=1, max_size=4)
    .filter(lambda zs: any(z.imag != 0 for z in zs)).map(np.array),
)
"""Never a valid real: NaN, infinities, complex numbers (scalars, arrays, zero imaginary part)."""
bad_positive = st.one_of(bad_reals, st.floats(max_value=0.0, allow_nan=False, allow_infinity=False))
"""Never a valid positive real."""
bad_sizes = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.booleans(), st.just("8"))
"""Never a valid size: zero, negative, floats, bools, strings."""
huge_sizes = st.integers(min_value=10**14, max_value=10**30)
"""Valid integers whose allocation no machine has."""

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _refused(call, word):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert word in str(info.value), str(info.value)


@SETTINGS
@given(value=bad_reals, which=st.sampled_from(["f", "ntk", "lr", "width", "y"]))
def test_function_map_refuses_bad_reals(value, which):
    args = {"f": 0.5, "ntk": 1.0, "lr": 0.1, "width": 16, "y": 1.0, which: value}
    _refused(lambda: uv.function_map(args["f"], args["ntk"], lr=args["lr"], width=args["width"], y=args["y"]), which)


@SETTINGS
@given(value=bad_positive, which=st.sampled_from(["lr", "width"]))
def test_scan_uv_refuses_bad_positive_reals(value, which):
    args = {"lr": 0.5, "width": 16, which: value}
    _refused(lambda: scan.uv(args["lr"], 1.0, 0.0, width=args["width"], steps=3), which)


@SETTINGS
@given(value=st.one_of(bad_reals, st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False)))
def test_ntk_must_be_a_nonnegative_real_everywhere(value):
    _refused(lambda: uv.function_map(0.0, value, lr=0.1, width=16), "ntk")
    _refused(lambda: uv.iterate(0.0, value, lr=0.1, width=16, steps=2), "ntk0")
    _refused(lambda: scan.uv(0.5, value, 0.0, width=16, steps=2), "ntk0")


@SETTINGS
@given(sigma=bad_positive, noise=st.one_of(bad_reals, st.floats(max_value=-1e-300, allow_nan=False,
                                                                allow_infinity=False)))
def test_init_and_synthetic_refuse_bad_scales(sigma, noise):
    _refused(lambda: uv.init(16, sigma=sigma), "sigma")
    _refused(lambda: data.synthetic(8, noise=noise), "noise")


@SETTINGS
@given(value=bad_reals)
def test_orbit_diagram_and_mlp_refuse_bad_reals(value):
    _refused(lambda: chaos.orbit_diagram("cubic", [2.2, value], x0=0.3, n_transient=5, n_keep=5), "params")
    X = np.ones((3, 2), dtype=np.result_type(np.asarray(value), float))
    X[1, 0] = np.asarray(value).ravel()[0]
    _refused(lambda: mlp.MLP([2, 3, 1]).hessian(X, np.ones(3)), "X")
    _refused(lambda: spectra.power_spectrum(np.r_[np.ones(8), np.asarray(value).ravel()]), "series")


@SETTINGS
@given(steps=bad_sizes, width=bad_sizes)
def test_sizes_are_positive_integers_everywhere(steps, width):
    u0, v0 = uv.init(8)
    _refused(lambda: uv.function_map(0.0, 1.0, lr=0.1, width=16, steps=steps), "steps")
    _refused(lambda: uv.train(u0, v0, lr=0.1, steps=steps), "steps")
    _refused(lambda: scan.uv(0.5, 1.0, 0.0, width=16, steps=steps), "steps")
    _refused(lambda: uv.init(width), "width")


@SETTINGS
@given(n=huge_sizes)
def test_huge_sizes_are_refused_quickly(n):
    u0, v0 = uv.init(8)
    t0 = time.perf_counter()
    _refused(lambda: uv.init(n), "width")
    _refused(lambda: uv.train(u0, v0, lr=0.1, steps=n), "steps")
    _refused(lambda: uv.iterate(0.0, 1.0, lr=0.1, width=8, steps=n), "steps")
    _refused(lambda: data.synthetic(n), "n")
    _refused(lambda: chaos.orbit_diagram("cubic", [2.2], x0=0.3, n_transient=0, n_keep=n), "n_keep")
    _refused(lambda: mlp.train(mlp.MLPSpec((2, 3, 1)), np.ones((3, 2)), np.ones(3), lr=0.1, steps=n), "steps")
    assert time.perf_counter() - t0 < 5


def test_one_rule_for_real_arguments():
    """as_float_array (finite reals) and as_real_array (NaN/inf allowed): the same refusals."""
    import torch

    assert validation.as_float_array([1, 2], "a").dtype == np.float64
    np.testing.assert_array_equal(validation.as_float_array(torch.ones(3, dtype=torch.bfloat16, requires_grad=True),
                                                            "a"), np.ones(3))
    assert np.isnan(validation.as_real_array([1.0, math.nan], "a")[1])
    for conv in (validation.as_float_array, validation.as_real_array):
        for bad in (1j, np.complex64(1.0), np.array([1.0, 2.0], dtype=complex), np.array([1.0, 1j], dtype=object),
                    torch.ones(2, dtype=torch.complex64)):
            with pytest.raises(ValueError, match="^a must be real"):
                conv(bad, "a")
        for bad in ("1.5", ["1", "2"], [[1.0], [1.0, 2.0]], {"a": 1}, None):
            with pytest.raises(ValueError, match="^a must be numeric"):
                conv(bad, "a")
    with pytest.raises(ValueError, match="^a must be finite"):
        validation.as_float_array([1.0, math.inf], "a")


def test_cli_lyapunov_refuses_a_huge_num_before_writing(tmp_path):
    out = tmp_path / "lyap"
    proc, seconds = _cli(["lyapunov", "--num", "10000000000", "--out", str(out)], tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--num" in proc.stderr and validation.MAX_BYTES_ENV in proc.stderr
    assert not out.exists()
    assert seconds < 20
