"""Training figures and the sharpness power spectrum they draw (:func:`sharpdyn.spectra.power_spectrum`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn.figures.training import plot_training
from sharpdyn.spectra import power_spectrum
from sharpdyn.torch import train

import torch_reference  # noqa: F401  (one torch thread)


def test_power_spectrum_peaks_at_period_two_and_four():
    t = np.arange(256)
    rng = np.random.default_rng(0)
    ps = power_spectrum(3.0 + np.cos(np.pi * t) + 0.01 * rng.standard_normal(256))
    assert ps.frequency[np.argmax(ps.power)] == pytest.approx(0.5)
    ps = power_spectrum(np.cos(np.pi * t / 2) + 0.01 * rng.standard_normal(256), spacing=2.0)
    assert ps.frequency[np.argmax(ps.power)] == pytest.approx(0.125)  # period 4 samples = 8 steps
    with pytest.raises(ValueError, match="at least 4"):
        power_spectrum([1.0, np.nan, 2.0])


def test_plot_training_panels(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)).double()
    X, Y = torch.randn(12, 3, dtype=torch.float64), torch.randn(12, 2, dtype=torch.float64)
    tr = train(model, (X, Y), lr=0.2, steps=40, sharpness_every=2, lyapunov=True)
    fig = plot_training([tr])
    assert len(fig.axes) == 5  # four panels + the Lyapunov twin axis
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
