"""Labelled grid scans: agreement with the point API, chunking, Zarr resume, Dask, the
large-width catapult phase boundaries, the normalised plane, parameter-space scans and
bad grids."""

from __future__ import annotations

import numpy as np
import pytest

from sharpdyn import regimes, scan

AXES = {"c": np.linspace(0.5, 5.0, 23), "f0": np.linspace(-1.5, 1.5, 9)}
KW = dict(steps=200, width=64, y=1.0, progress=False)


def _same(a, b):
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert a.attrs == b.attrs


@pytest.fixture(scope="module")
def reference():
    return scan.grid(AXES, **KW)


def test_grid_equals_point_scan(reference):
    c, f0 = np.meshgrid(AXES["c"], AXES["f0"], indexing="ij")
    res = scan.uv(c / 1.0, 1.0, f0, width=64, y=1.0, steps=200)
    assert reference.regime.dims == ("c", "f0") and reference.regime.shape == (23, 9)
    np.testing.assert_array_equal(reference.c.values, AXES["c"])
    for name in ("f", "ntk", "diverged_at", "regime", "max_loss", "final_sharpness", "converged_at"):
        np.testing.assert_array_equal(reference[name].values, getattr(res, name), err_msg=name)
    np.testing.assert_array_equal(reference.lr.values, c)
    assert reference.regime.attrs["flag_meanings"].split() == list(regimes.REGIMES)


@pytest.mark.parametrize("chunk_size", [1, 9, 50, 10_000])
def test_chunking_does_not_change_the_result(reference, chunk_size):
    _same(scan.grid(AXES, chunk_size=chunk_size, threads=1, **KW), reference)


def test_interrupted_scan_resumes_to_the_same_result(tmp_path, reference):
    store = tmp_path / "scan.zarr"
    seen = []

    class Interrupt(Exception):
        pass

    def stop_after_three(k):
        seen.append(k)
        if len(seen) == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        scan.grid(AXES, chunk_size=27, store=store, on_chunk=stop_after_three, **KW)
    import zarr

    done = np.asarray(zarr.open_group(str(store), mode="r")["done"][:])
    assert done.sum() == 3 and done.size == 8
    resumed = []
    ds = scan.grid(AXES, chunk_size=27, store=store, on_chunk=resumed.append, **KW)
    assert sorted(resumed) == [k for k in range(8) if not done[k]]
    _same(ds, reference)
    again = []
    _same(scan.grid(AXES, chunk_size=27, store=store, on_chunk=again.append, **KW), reference)
    assert again == []


def test_store_of_another_scan_is_refused(tmp_path):
    store = tmp_path / "scan.zarr"
    scan.grid(AXES, chunk_size=100, store=store, **KW)
    with pytest.raises(ValueError, match="different scan"):
        scan.grid(AXES, chunk_size=100, store=store, **{**KW, "steps": 201})


def test_dask_cluster_gives_the_local_result(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            ds = scan.grid(AXES, chunk_size=20, client=client, **KW)
    _same(ds, reference)


def test_large_width_catapult_boundaries_at_c2_and_c4():
    """SP at width 2^20 (Y ~ 1e-3): lazy below c = 2, catapult up to c = 4, divergence above."""
    c = np.linspace(1.0, 5.0, 401)
    ds = scan.grid({"c": c}, steps=2000, width=2**20, y=1.0, f0=0.0, param="sp", progress=False)
    names = np.asarray(regimes.names(ds.regime.values))
    first_catapult = c[np.argmax(names == "catapult")]
    first_divergence = c[np.argmax(names == "divergence")]
    assert abs(first_catapult - 2.0) <= 0.011 and abs(first_divergence - 4.0) <= 0.011
    assert np.all(names[c < first_catapult] == "lazy")
    assert np.all(names[(c >= first_catapult) & (c < first_divergence)] == "catapult")
    assert np.all(names[c >= first_divergence] == "divergence")


def test_normalized_plane_equals_normalized_point_scan():
    axes = {"c": np.linspace(0.3, 4.5, 12), "Y": np.linspace(0.0, 1.6, 10)}
    ds = scan.grid(axes, steps=300, progress=False, chunk_size=25)
    c, Y = np.meshgrid(axes["c"], axes["Y"], indexing="ij")
    res = scan.uv_normalized(c, Y, steps=300)
    np.testing.assert_array_equal(ds.regime.values, res.regime)
    np.testing.assert_array_equal(ds.f.values, res.f)
    assert "lr" not in ds and ds.attrs["normalized"] == 1
    assert set(np.unique(ds.regime.values)) >= {regimes.REGIME_CODES["edge_of_stability"],
                                                 regimes.REGIME_CODES["catapult"]}


def test_width_and_param_axes_set_kappa():
    axes = {"width": [16, 256], "param": ["sp", "mup", 0.5]}
    ds = scan.grid(axes, lr=0.7, ntk0=1.5, f0=0.2, y=0.9, steps=50, progress=False)
    np.testing.assert_array_equal(ds.param.values, [0.0, 1.0, 0.5])
    for i, w in enumerate([16, 256]):
        for j, p in enumerate(["sp", "mup", 0.5]):
            point = scan.uv(0.7, 1.5, 0.2, width=w, y=0.9, param=p, steps=50)
            assert ds.f.values[i, j] == point.f and ds.regime.values[i, j] == point.regime


def test_weights_scan_is_chunk_invariant_and_matches_function_scan():
    axes = {"c": np.linspace(0.5, 4.5, 18), "y": [0.0, 0.5]}
    kw = dict(steps=300, width=256, seed=3, progress=False, model="weights")
    ds = scan.grid(axes, chunk_size=8, **kw)
    _same(scan.grid(axes, chunk_size=1000, **kw), ds)
    # the function-space map from the drawn initial state gives the same labels
    yy = np.broadcast_to(np.asarray(axes["y"])[None, :], ds.f0.shape)
    fs = scan.uv(ds.lr.values, ds.ntk0.values, ds.f0.values, width=256, y=yy, steps=300)
    agree = np.mean(fs.regime == ds.regime.values)
    assert agree >= 0.9, agree
    ok = ~ds.diverged.values
    np.testing.assert_allclose(ds.f.values[ok], fs.f[ok], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ds.lr.values * ds.ntk0.values, np.broadcast_to(axes["c"][:, None], ds.f0.shape),
                               rtol=1e-12)


@pytest.mark.parametrize(
    "axes, kwargs, error, match",
    [
        ({"c": []}, dict(width=8), ValueError, "empty"),
        ({"c": [0.5, np.nan]}, dict(width=8), ValueError, "finite"),
        ({"eta": [0.5]}, dict(width=8), ValueError, "unknown axis name 'eta'"),
        ({"c": [0.5]}, dict(width=8, steps=0), ValueError, "steps"),
        ({}, dict(width=8), ValueError, "non-empty"),
        ({"c": [[0.5]]}, dict(width=8), ValueError, "1-D"),
        ({"c": [0.5]}, dict(width=8, lr=0.1), ValueError, "exactly one of lr and c"),
        ({"f0": [0.5]}, dict(width=8), ValueError, "exactly one of lr and c"),
        ({"c": [0.5]}, dict(), ValueError, "width"),
        ({"c": [0.5], "Y": [0.1]}, dict(width=8), ValueError, "normalised"),
        ({"c": [-0.5]}, dict(width=8), ValueError, "c must be > 0"),
        ({"c": [0.5]}, dict(width=8, f0=[1.0, 2.0]), ValueError, "scalar"),
        ({"c": [0.5]}, dict(width=8, model="weights", f0=0.1), ValueError, "weights"),
        ({"c": [0.5]}, dict(width=8.5, model="weights"), ValueError, "integer"),
        ({"c": [0.5]}, dict(width=8, model="torch"), ValueError, "model"),
        ({"c": [0.5]}, dict(width=8, chunk_size=0), ValueError, "chunk_size"),
        ({"param": ["xp"]}, dict(width=8, c=1.0), ValueError, "param"),
        ({"c": [0.5], "f0": [0.0]}, dict(width=8, f0=0.0), ValueError, "both"),
        ({"c": [0.5], "ntk0": [0.0, 1.0]}, dict(width=8), ValueError, "ntk0 must be > 0"),
    ],
    ids=lambda v: None,
)
def test_bad_grids_raise_clear_errors(axes, kwargs, error, match):
    args = dict(steps=10, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        scan.grid(axes, **args)


def test_point_scan_works_without_optional_deps_and_grid_names_the_extra():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import importlib.abc, sys
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"dask", "distributed", "zarr", "xarray", "numba"}:
                    raise ModuleNotFoundError(f"No module named {name!r} (hidden by test)")
                return None
        sys.meta_path.insert(0, Hide())
        from sharpdyn import scan
        res = scan.uv([0.5, 3.0, 5.0], 1.0, 0.0, width=4096, y=0.01, steps=300)
        print(res.regime_names.tolist())
        try:
            scan.grid({"c": [1.0]}, width=8, steps=10, progress=False)
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "['lazy', 'catapult', 'divergence']" in res.stdout
    assert "pip install 'sharpdyn[scan]'" in res.stdout


def test_progress_bar_counts_chunks(capsys, reference):
    ds = scan.grid(AXES, steps=200, width=64, y=1.0, chunk_size=50, progress=True)
    err = capsys.readouterr().err
    assert "scan" in err and "5/5" in err
    _same(ds, reference)
