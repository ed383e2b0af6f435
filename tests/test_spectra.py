"""Power spectra: lines at 1/p for period-p orbits, broadband in chaos, any 1-D array-like."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sharpdyn import chaos
from sharpdyn.spectra import power_spectrum


def _orbit(r, n=4096):
    return chaos.orbit_diagram("cubic", [r], x0=0.3, n_transient=20000, n_keep=n, observable="sharpness").states[0]


def test_period_two_and_four_orbits_peak_at_half_and_quarter():
    p2 = chaos.period("cubic", [2.1, 2.27], x0=0.3, n_transient=20000, max_period=16)
    np.testing.assert_array_equal(p2, [2, 4])
    s2 = power_spectrum(_orbit(2.1))
    s4 = power_spectrum(_orbit(2.27))
    assert s2.peaks(1)[0] == 0.5
    assert set(s4.peaks(2)) == {0.25, 0.5}
    # nothing of comparable power elsewhere
    other = (np.abs(s4.frequency - 0.25) > 0.01) & (np.abs(s4.frequency - 0.5) > 0.01)
    assert s4.power[other].max() < 1e-6 * s4.power.max()


def test_chaos_is_broadband():
    assert power_spectrum(_orbit(2.9)).spectral_entropy() > 0.8
    assert power_spectrum(_orbit(2.27)).spectral_entropy() < 0.3


def test_sinusoid_frequency_and_parseval():
    n = 2048
    t = np.arange(n)
    x = 1.5 * np.cos(2 * np.pi * 0.1 * t)
    s = power_spectrum(x, method="periodogram", window="boxcar")
    assert s.peaks(1)[0] == pytest.approx(0.1, abs=1 / n)
    df = s.frequency[1] - s.frequency[0]
    assert s.power.sum() * df == pytest.approx(np.var(x), rel=1e-10)  # one-sided density integrates to variance


def test_spacing_keeps_frequencies_in_cycles_per_step():
    # a series sampled every 4 steps: 0.1 cycles per sample is 0.025 cycles per step
    n = 2048
    x = 1.5 * np.cos(2 * np.pi * 0.1 * np.arange(n))
    s = power_spectrum(x, method="periodogram", window="boxcar", spacing=4.0)
    assert s.frequency[-1] == pytest.approx(1 / 8)  # Nyquist 1 / (2 spacing)
    assert s.peaks(1)[0] == pytest.approx(0.025, abs=1 / (4 * n))
    df = s.frequency[1] - s.frequency[0]
    assert df == pytest.approx(1 / (4 * n))
    assert s.power.sum() * df == pytest.approx(np.var(x), rel=1e-10)
    with pytest.raises(ValueError, match="spacing"):
        power_spectrum(x, spacing=0.0)


def test_accepts_lists_and_torch_tensors():
    x = _orbit(2.27, n=512)
    ref = power_spectrum(x)
    tens = torch.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(power_spectrum(tens).power, ref.power)
    np.testing.assert_array_equal(power_spectrum(list(x)).power, ref.power)
    assert ref.segment == 512 and ref.n_samples == 512


@pytest.mark.parametrize(
    "series, kwargs, match",
    [
        (np.ones((3, 3)), {}, "1-D"),
        ([1.0, 2.0], {}, "at least 4"),
        ([1.0, np.nan, 2.0, 3.0, 4.0], {}, "finite"),
        (np.arange(10.0), {"method": "fft"}, "method"),
        (np.arange(10.0), {"window": "nonsense"}, "window"),
        (np.arange(10.0), {"segment": 20}, "segment"),
        (np.arange(10.0), {"detrend": "quadratic"}, "detrend"),
        ("abc", {}, "numeric"),
    ],
)
def test_bad_input(series, kwargs, match):
    with pytest.raises(ValueError, match=match):
        power_spectrum(series, **kwargs)
