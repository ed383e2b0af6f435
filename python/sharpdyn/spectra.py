"""Power spectra of 1-D series (sharpness, loss, map orbits), in cycles per step.

This is the one power-spectrum function of sharpdyn: :meth:`sharpdyn.bifurcation.Bifurcation.power_spectrum`,
the ``sharpdyn lyapunov`` and ``sharpdyn demo`` figures, the reproduction report and
:func:`sharpdyn.figures.training.plot_training` all call :func:`power_spectrum`.

Conventions: one-sided power spectral density (``scaling="density"``: ``sum(power) * df`` is the
variance of the series after detrending), frequencies in cycles per *step* from 0 to the
Nyquist frequency ``1 / (2 spacing)`` (``spacing`` steps between samples; 1/2 for a series
sampled every step), the mean removed (``detrend="constant"``) and a Hann window by default.

A period-``p`` oscillation puts its power at multiples of ``1/p`` cycles per step: a period-2
orbit peaks at 1/2, a period-4 orbit at 1/4 and 1/2, ... through the doubling cascade; a chaotic
orbit has a broadband spectrum. Works on any array-like, including PyTorch tensors (detached and
moved to the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .validation import one_of, positive_float, positive_int, refuse_complex

__all__ = ["PowerSpectrum", "as_series", "power_spectrum"]

METHODS = ("welch", "periodogram")
DETRENDS = ("constant", "linear", "none")


def as_series(series: ArrayLike, name: str = "series") -> NDArray[np.float64]:
    """A finite 1-D float64 array from any array-like (NumPy, lists, torch tensors)."""
    if hasattr(series, "detach") and hasattr(series, "cpu"):  # torch.Tensor, without importing torch
        series = series.detach().cpu().numpy()
    try:
        raw = np.asarray(series)
        refuse_complex(raw, name)
        if raw.dtype.kind in "USV":
            raise TypeError(raw.dtype)
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        if "complex" in str(exc):
            raise
        raise ValueError(f"{name} must be numeric, got {type(series).__name__}") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < 4:
        raise ValueError(f"{name} needs at least 4 samples, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (got NaN or infinity; cut a diverged run first)")
    return arr


@dataclass(frozen=True)
class PowerSpectrum:
    """One-sided power spectral density.

    Attributes
    ----------
    frequency:
        Cycles per step, from 0 to ``1 / (2 spacing)`` (1/2 for a series sampled every step),
        shape ``(F,)``.
    power:
        One-sided power spectral density (series units squared per cycle-per-step), shape
        ``(F,)``.
    method, window, segment, detrend:
        How it was computed.
    n_samples:
        Length of the input series.
    spacing:
        Steps between consecutive samples of the series.
    """

    frequency: NDArray[np.float64]
    power: NDArray[np.float64]
    method: str
    window: str
    segment: int
    detrend: str
    n_samples: int
    spacing: float = 1.0

    def peaks(self, count: int = 3, *, min_relative: float = 1e-6) -> NDArray[np.float64]:
        """Frequencies of the ``count`` highest local maxima (endpoints included) above
        ``min_relative`` times the top power, highest first."""
        count = positive_int(count, "count")
        p = self.power
        left = np.concatenate([[-np.inf], p[:-1]])
        right = np.concatenate([p[1:], [-np.inf]])
        is_peak = (p >= left) & (p >= right) & (p > min_relative * p.max())
        idx = np.flatnonzero(is_peak)
        idx = idx[np.argsort(-p[idx], kind="stable")][:count]
        return self.frequency[idx]

    def spectral_entropy(self) -> float:
        """Normalised Shannon entropy of the power distribution (0: one line, 1: flat)."""
        q = self.power[1:] / self.power[1:].sum()
        q = q[q > 0]
        return float(-(q * np.log(q)).sum() / np.log(self.power.size - 1))


def power_spectrum(
    series: ArrayLike,
    *,
    method: str = "welch",
    window: str = "hann",
    segment: int | None = None,
    detrend: str = "constant",
    spacing: float = 1.0,
) -> PowerSpectrum:
    """Power spectrum of a 1-D series sampled every ``spacing`` steps (default every step).

    Parameters
    ----------
    series:
        Array-like of length >= 4 (NumPy array, list, torch tensor), finite.
    method:
        ``"welch"`` (averaged windowed segments, half overlap; lower variance) or
        ``"periodogram"`` (one windowed FFT of the whole series; finest resolution).
    window:
        Any window name :func:`scipy.signal.get_window` knows (``"hann"``, ``"boxcar"``, ...).
    segment:
        Welch segment length (default ``min(n, 1024)``: resolution 1/1024 cycles per step is
        enough to separate the lines of periods up to 2^9).
    detrend:
        ``"constant"`` (remove the mean, so the zero-frequency line does not dominate),
        ``"linear"`` or ``"none"``.
    spacing:
        Steps between consecutive samples (e.g. a sharpness measured every 5 steps), > 0: the
        frequencies stay in cycles per step, up to the Nyquist frequency ``1 / (2 spacing)``.

    Returns
    -------
    PowerSpectrum with frequencies in cycles per step (Nyquist ``1 / (2 spacing)``).
    """
    x = as_series(series)
    spacing = positive_float(spacing, "spacing")
    method = one_of(method, "method", METHODS)
    detrend = one_of(detrend, "detrend", DETRENDS)
    if not isinstance(window, str):
        raise ValueError(f"window must be a window name, got {window!r}")
    from scipy import signal  # after the cheap checks: the import takes a while
    try:
        signal.get_window(window, 8)
    except ValueError as exc:
        raise ValueError(f"window: unknown window {window!r}") from exc
    n = x.size
    dt = False if detrend == "none" else detrend
    if method == "welch":
        seg = min(n, 1024) if segment is None else positive_int(segment, "segment")
        if seg > n:
            raise ValueError(f"segment ({seg}) must be <= the series length ({n})")
        if seg < 4:
            raise ValueError(f"segment must be >= 4, got {seg}")
        f, p = signal.welch(x, fs=1.0 / spacing, window=window, nperseg=seg, detrend=dt, scaling="density")
    else:
        seg = n
        f, p = signal.periodogram(x, fs=1.0 / spacing, window=window, detrend=dt, scaling="density")
    return PowerSpectrum(frequency=f, power=p, method=method, window=window, segment=seg, detrend=detrend,
                         n_samples=n, spacing=spacing)
