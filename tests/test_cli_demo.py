"""`sharpdyn demo` writes real figures and the data behind them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from sharpdyn import regimes
from sharpdyn.cli import main


def test_demo_writes_figures_and_data(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--only", "uv"])
    assert result.exit_code == 0, result.output
    for name in ("uv_trajectories.png", "uv_flow_eos.png", "uv_flow_catapult.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    summary = json.loads((out / "summary.json").read_text())["uv"]
    # the saved data reproduces the reported regimes
    for name, info in summary.items():
        with np.load(out / f"uv_{name}.npz") as d:  # closed here, not at a later test's garbage collection
            label = regimes.classify_series(d["loss"], d["sharpness"], lr=d["lr"], diverged=d["diverged"])
        assert label == info["regime"]
    assert summary["catapult_c3.0"]["regime"] == "catapult"
    assert summary["edge_of_stability_Y1.1"]["regime"] == "edge_of_stability"
    assert summary["divergence_c4.5"]["diverged_at"] > 0


def test_command_line_entry_point_lists_commands():
    res = subprocess.run([sys.executable, "-m", "sharpdyn", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert "demo" in res.stdout


def test_demo_sections_reproduce_independent_computations(tmp_path):
    """Every demo section's saved data agrees with an independent computation."""
    from sharpdyn import data, mlp, uv

    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--only", "phase", "--only", "chaos",
                                       "--only", "mlp"])
    assert result.exit_code == 0, result.output
    for name in ("phase_cY.png", "orbit_cubic.png", "orbit_uv_lr.png", "spectra_cubic.png", "mlp_training.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())

    # phase plane: the normalised map is the UV model with lr = width = x = 1, y = Y (kappa = 1)
    with np.load(out / "phase_cY.npz") as d:
        c, Y, codes, steps = d["c"], d["Y"], d["regime"], int(d["steps"])
    rng = np.random.default_rng(3)
    for i, j in zip(rng.integers(0, c.size, 25), rng.integers(0, Y.size, 25)):
        tr = uv.iterate(0.0, c[i], lr=1.0, width=1, y=Y[j], steps=steps)
        assert regimes.REGIMES[codes[i, j]] == uv.classify(tr), (c[i], Y[j])
    small_Y = codes[:, 0]  # Y = 0.01: the large-width picture, lazy/sharpening < 2 < catapult < 4 < divergence
    assert set(regimes.names(small_Y[c < 1.95])) <= {"lazy", "progressive_sharpening", "sharpness_reduction"}
    assert set(regimes.names(small_Y[(c > 2.05) & (c < 3.95)])) == {"catapult"}
    assert set(regimes.names(small_Y[c > 4.05])) == {"divergence"}

    # route to chaos: analytic doubling points r1 = 2, r2 = sqrt(5); Feigenbaum's delta
    info = summary["chaos"]
    assert abs(info["doubling_points"][0] - 2.0) < 1e-14
    assert abs(info["doubling_points"][1] - np.sqrt(5.0)) < 1e-13
    assert abs(info["feigenbaum_delta"] - 4.669201609102990) < 1e-4
    with np.load(out / "orbit_cubic.npz") as d:
        r, states, n_transient = d["params"], d["states"], int(d["n_transient"])
    for k in (0, 700, 2400):
        x = 0.3
        for _ in range(n_transient + 2):
            x = r[k] * x * (1.0 - x * x)
            ref = x
        np.testing.assert_allclose(states[k, 2], ref, rtol=1e-12)

    # MLP: initial sharpness is the top eigenvalue of the dense Hessian (NumPy LAPACK)
    X, Yt = data.synthetic(256, d=16, n_out=1, seed=0)
    net = mlp.MLP([16, 32, 32, 1], activation="tanh", param="sp", seed=0)
    lam0 = np.linalg.eigvalsh(net.hessian(X, Yt))[-1]
    assert abs(summary["mlp"]["sharpness0"] - lam0) < 1e-9 * lam0
    with np.load(out / "mlp_training.npz") as d:
        np.testing.assert_allclose(d["sharpness"][0, :, 0, 0], lam0, rtol=1e-9)
        crit = regimes.RegimeCriteria(window_fraction=0.5)
        labels = [regimes.classify_series(d["loss"][0, i, 0], d["sharpness"][0, i, 0], lr=d["lr"][0, i, 0],
                                          criteria=crit) for i in range(3)]
    assert labels == summary["mlp"]["regime"]
    assert summary["mlp"]["regime"][2] == "edge_of_stability"
