"""``sharpdyn mlp`` end to end (small sizes), and the MLP core without optional dependencies."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from sharpdyn.cli import main

from test_without_optional_deps import _run


def test_mlp_command_writes_figures_and_data(tmp_path):
    res = CliRunner().invoke(main, ["mlp", "--out", str(tmp_path), "--examples", "64", "--steps", "60",
                                    "--sweep-steps", "10", "--threads", "1"])
    assert res.exit_code == 0, res.output
    for name in ("mlp_digits_eos.png", "mlp_digits_phase.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    summary = json.loads((tmp_path / "mlp_summary.json").read_text())
    assert len(summary["training"]["lr"]) == 3
    assert np.array(summary["phase_diagram"]["regime"]).shape == (3, 17)
    with np.load(tmp_path / "mlp_digits_training.npz") as data:
        assert data["loss"].shape == (1, 3, 1, 61)


def test_mlp_core_runs_without_torch_or_sklearn():
    res = _run(
        """
        import numpy as np
        from sharpdyn import mlp
        net = mlp.MLP([3, 4, 2], activation="gelu")
        X = np.ones((5, 3)); Y = np.zeros((5, 2))
        assert net.hessian(X, Y).shape == (net.num_params, net.num_params)
        runs = mlp.train(net.spec, X, Y, lr=0.1, steps=5, sharpness_every=1)
        assert runs.regime().shape == (1, 1, 1)
        try:
            net.to_torch()
        except ImportError as exc:
            assert "sharpdyn[torch]" in str(exc)
            print("OK")
        """
    )
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout
