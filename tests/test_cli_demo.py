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
        with np.load(out / f"uv_{name}.npz") as d:
            label = regimes.classify_series(d["loss"], d["sharpness"], lr=d["lr"], diverged=d["diverged"])
        assert label == info["regime"]
    assert summary["catapult_c3.0"]["regime"] == "catapult"
    assert summary["edge_of_stability_Y1.1"]["regime"] == "edge_of_stability"
    assert summary["divergence_c4.5"]["diverged_at"] > 0


def test_command_line_entry_point_lists_commands():
    res = subprocess.run([sys.executable, "-m", "sharpdyn", "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert "demo" in res.stdout
