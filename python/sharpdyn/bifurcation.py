"""Bifurcation diagrams of real networks: late-time ``lr * sharpness`` against the learning rate.

For every learning rate the same initial network is trained by full-batch GD for ``steps``
updates (loss every step, sharpness every ``sharpness_every``), then for ``n_keep`` more updates
recording at every step the exact top Hessian eigenvalue, the loss, and a tangent vector
propagated by the GD map's Jacobian, ``v <- (I - lr H(theta_t)) v`` (exact HVPs), renormalised
every step. The result (:class:`Bifurcation`) holds per learning rate:

- ``eta_sharpness[i, j] = lr_i * lambda_H`` at step ``late_step[j] = steps + j`` (2 is the edge of
  stability) and ``loss_late``;
- ``period``: :func:`sharpdyn.attractor.detect_period` of ``eta_sharpness`` (1 converged or
  drifting fixed point, 2, 4, ... cycles, 0 aperiodic/chaotic, -1 diverged);
- ``lyapunov``: the finite-time largest Lyapunov exponent of the GD map over the late window,
  ``mean_t log ||(I - lr H(theta_t)) v_t||`` (``||v_t|| = 1``) over ``t >= steps + lyapunov_skip``
  (the first ``lyapunov_skip`` steps only align the tangent vector), natural log per step.

:func:`mlp_bifurcation` runs the C++ MLP (:mod:`sharpdyn.mlp`: all learning rates in parallel,
exact Hessians); :func:`torch_bifurcation` any PyTorch model (:func:`sharpdyn.torch.train`), one
learning rate at a time (:func:`torch_bifurcation_run`, combined by :meth:`Bifurcation.from_runs`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from .attractor import detect_period
from .validation import as_float_array, nonnegative_int, positive_float, positive_int

__all__ = ["Bifurcation", "mlp_bifurcation", "torch_bifurcation", "torch_bifurcation_run"]

_ARRAYS = ("lr", "c", "sharpness0", "late_step", "eta_sharpness", "loss_late", "period", "lyapunov", "diverged",
           "diverged_at", "loss", "sharpness", "sharpness_steps")
_PER_RUN = ("lr", "c", "sharpness0", "eta_sharpness", "loss_late", "period", "lyapunov", "diverged",
            "diverged_at", "loss", "sharpness")


@dataclass(frozen=True)
class Bifurcation:
    """Late-time states of full-batch GD runs of one network over a grid of learning rates.

    Attributes
    ----------
    lr, c, sharpness0:
        ``(L,)`` learning rates, ``c = lr * sharpness0`` and the initial sharpness ``lambda_0``.
    late_step:
        ``(W,)`` the steps of the late window, ``steps, ..., steps + W - 1``.
    eta_sharpness, loss_late:
        ``(L, W)`` ``lr * lambda_H`` and the full-batch loss at ``late_step`` (NaN after a
        divergence).
    period:
        ``(L,)`` detected period of ``eta_sharpness`` (-1 diverged, 0 aperiodic / chaotic).
    lyapunov:
        ``(L,)`` finite-time largest Lyapunov exponent of the GD map over the late window, per
        step (NaN for diverged runs).
    diverged, diverged_at:
        ``(L,)`` whether and at which step (-1 if not) a run left its divergence bound.
    loss:
        ``(L, steps + 1)`` the loss of the first phase, every step.
    sharpness, sharpness_steps:
        ``(L, M)`` the sharpness of the first phase at ``(M,)`` steps ``0, k, 2k, ...``.
    settings:
        Everything that made the result (JSON-serialisable).
    """

    lr: np.ndarray
    c: np.ndarray
    sharpness0: np.ndarray
    late_step: np.ndarray
    eta_sharpness: np.ndarray
    loss_late: np.ndarray
    period: np.ndarray
    lyapunov: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    loss: np.ndarray
    sharpness: np.ndarray
    sharpness_steps: np.ndarray
    settings: dict

    # ------------------------------------------------------------------ views
    @property
    def edge_ratio(self) -> np.ndarray:
        """``(L, W)``: ``sharpness / (2 / lr) = eta_sharpness / 2`` (1 is the edge of stability)."""
        return self.eta_sharpness / 2.0

    def power_spectrum(self, i: int, *, observable: str = "sharpness", **kwargs: Any):
        """Power spectrum (:func:`sharpdyn.spectra.power_spectrum`) of run ``i``'s late
        ``eta_sharpness`` (``observable="sharpness"``) or ``loss_late`` (``"loss"``)."""
        from .spectra import power_spectrum
        from .validation import one_of

        one_of(observable, "observable", ("sharpness", "loss"))
        L = self.lr.shape[0]
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -L <= i < L:
            raise ValueError(f"i must be an integer index in [-{L}, {L}), got {i!r}")
        row = (self.eta_sharpness if observable == "sharpness" else self.loss_late)[i]
        return power_spectrum(row, **kwargs)

    # ------------------------------------------------------------------ combine / save
    @classmethod
    def from_runs(cls, runs: Sequence[Bifurcation]) -> Bifurcation:
        """Concatenate results along the learning-rate axis (e.g. single runs of
        :func:`torch_bifurcation_run`). They must share ``late_step``, ``sharpness_steps`` and
        every setting except the learning rate; the result is sorted by ``lr``."""
        runs = list(runs)
        if not runs or not all(isinstance(r, Bifurcation) for r in runs):
            raise ValueError("runs must be a non-empty sequence of Bifurcation results")
        first = runs[0]
        base = {k: v for k, v in first.settings.items() if k not in ("lr", "c")}
        for r in runs[1:]:
            if not (np.array_equal(r.late_step, first.late_step)
                    and np.array_equal(r.sharpness_steps, first.sharpness_steps)
                    and r.loss.shape[1:] == first.loss.shape[1:]):
                raise ValueError("runs: every run must have the same steps, n_keep and sharpness_every")
            other = {k: v for k, v in r.settings.items() if k not in ("lr", "c")}
            if other != base:
                raise ValueError("runs: settings differ beyond the learning rate: "
                                 f"{sorted(k for k in set(base) | set(other) if base.get(k) != other.get(k))}")
        cat = {name: np.concatenate([getattr(r, name) for r in runs], axis=0) for name in _PER_RUN}
        order = np.argsort(cat["lr"], kind="stable")
        cat = {k: v[order] for k, v in cat.items()}
        settings = dict(base, lr=cat["lr"].tolist())
        return cls(late_step=first.late_step, sharpness_steps=first.sharpness_steps, settings=settings, **cat)

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dims ``lr``, ``late_step``, ``step``, ``sharpness_step``
        (settings as the JSON attribute ``settings``)."""
        try:
            import xarray as xr
        except ImportError as exc:
            raise ImportError("Bifurcation.to_xarray needs xarray: pip install sharpdyn[scan]") from exc
        return xr.Dataset(
            {
                "eta_sharpness": (("lr", "late_step"), self.eta_sharpness),
                "loss_late": (("lr", "late_step"), self.loss_late),
                "c": ("lr", self.c),
                "sharpness0": ("lr", self.sharpness0),
                "period": ("lr", self.period),
                "lyapunov": ("lr", self.lyapunov),
                "diverged": ("lr", self.diverged.astype(np.int8)),
                "diverged_at": ("lr", self.diverged_at),
                "loss": (("lr", "step"), self.loss),
                "sharpness": (("lr", "sharpness_step"), self.sharpness),
            },
            coords={"lr": self.lr, "late_step": self.late_step, "step": np.arange(self.loss.shape[1]),
                    "sharpness_step": self.sharpness_steps},
            attrs={"settings": json.dumps(self.settings)},
        )

    def save(self, path: str | Path) -> Path:
        """Write to ``.nc`` (netCDF through xarray) or, for any other suffix, ``.npz``; read back
        with :meth:`load`."""
        path = Path(path)
        if path.suffix == ".nc":
            self.to_xarray().to_netcdf(path)
            return path
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        np.savez_compressed(path, settings=json.dumps(self.settings),
                            **{name: getattr(self, name) for name in _ARRAYS})
        return path

    @classmethod
    def load(cls, path: str | Path) -> Bifurcation:
        """Read a result written by :meth:`save` (``.nc`` or ``.npz``)."""
        path = Path(path)
        if path.suffix == ".nc":
            import xarray as xr

            with xr.open_dataset(path) as ds:
                ds = ds.load()
                return cls(lr=ds["lr"].values, c=ds["c"].values, sharpness0=ds["sharpness0"].values,
                           late_step=ds["late_step"].values, eta_sharpness=ds["eta_sharpness"].values,
                           loss_late=ds["loss_late"].values, period=ds["period"].values.astype(np.int64),
                           lyapunov=ds["lyapunov"].values, diverged=ds["diverged"].values.astype(bool),
                           diverged_at=ds["diverged_at"].values.astype(np.int64), loss=ds["loss"].values,
                           sharpness=ds["sharpness"].values, sharpness_steps=ds["sharpness_step"].values,
                           settings=json.loads(ds.attrs["settings"]))
        with np.load(path) as z:
            arrays = {name: z[name] for name in _ARRAYS}
            return cls(settings=json.loads(str(z["settings"])), **arrays)


# ---------------------------------------------------------------------- helpers
def require_complete(runs: Any) -> Any:
    """``runs`` (an ``mlp.TrainingRuns`` or a ``torch.train`` trajectory), or
    ``KeyboardInterrupt`` if Ctrl-C stopped it: both trainers return their finished steps on
    Ctrl-C, but a diagram of half-trained runs would be wrong, so the interrupt goes on up."""
    stopped = np.any(np.asarray(getattr(runs, "interrupted_at", -1)) >= 0)
    if stopped:
        raise KeyboardInterrupt("training interrupted; the bifurcation diagram is incomplete")
    return runs


def _lr_or_c(lr: ArrayLike | None, c: ArrayLike | None) -> tuple[np.ndarray, bool]:
    if (lr is None) == (c is None):
        raise ValueError("give exactly one of lr (learning rates) or c (normalised learning rates)")
    name = "lr" if c is None else "c"
    arr = as_float_array(lr if c is None else c, name)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D sequence, got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    return arr, c is not None


def _lyapunov_from_growth(log_growth: np.ndarray, skip: int) -> float:
    g = log_growth[skip:]
    return float(np.mean(g)) if g.size and np.all(np.isfinite(g)) else float("nan")


def _finish(*, lr, sharpness0, steps, n_keep, eta_sharpness, loss_late, lyapunov, diverged, diverged_at, loss,
            sharpness, sharpness_steps, settings, period_rtol, max_period) -> Bifurcation:
    period = detect_period(eta_sharpness, max_period=max_period, rtol=period_rtol)
    period = np.where(diverged, -1, period).astype(np.int64)
    return Bifurcation(
        lr=np.asarray(lr, dtype=np.float64), c=np.asarray(lr) * sharpness0, sharpness0=sharpness0,
        late_step=np.arange(steps, steps + n_keep, dtype=np.int64), eta_sharpness=eta_sharpness,
        loss_late=loss_late, period=period, lyapunov=lyapunov, diverged=np.asarray(diverged, dtype=bool),
        diverged_at=np.asarray(diverged_at, dtype=np.int64), loss=loss, sharpness=sharpness,
        sharpness_steps=np.asarray(sharpness_steps, dtype=np.int64), settings=settings,
    )


def _common(steps: Any, n_keep: Any, sharpness_every: Any, seed: Any, lyapunov_skip: Any, max_period: Any,
            period_rtol: Any) -> tuple[int, int, int, int, int, int, float]:
    steps = positive_int(steps, "steps")
    n_keep = positive_int(n_keep, "n_keep")
    if n_keep < 4:
        raise ValueError(f"n_keep must be >= 4, got {n_keep}")
    every = positive_int(sharpness_every, "sharpness_every")
    seed = nonnegative_int(seed, "seed")
    skip = n_keep // 4 if lyapunov_skip is None else nonnegative_int(lyapunov_skip, "lyapunov_skip")
    if skip >= n_keep:
        raise ValueError(f"lyapunov_skip must be < n_keep = {n_keep}, got {skip}")
    mp = min(64, n_keep // 2) if max_period is None else positive_int(max_period, "max_period")
    if 2 * mp > n_keep:
        raise ValueError(f"max_period must be <= n_keep / 2 = {n_keep // 2}, got {mp}")
    return steps, n_keep, every, seed, skip, mp, positive_float(period_rtol, "period_rtol")


# ---------------------------------------------------------------------- C++ MLP
def mlp_bifurcation(
    spec: Any,
    X: Any,
    Y: Any,
    *,
    lr: ArrayLike | None = None,
    c: ArrayLike | None = None,
    steps: int,
    n_keep: int = 64,
    sharpness_every: int = 10,
    seed: int = 0,
    threads: int | None = None,
    lyapunov_skip: int | None = None,
    max_period: int | None = None,
    period_rtol: float = 1e-3,
    divergence_factor: float = 1e12,
) -> Bifurcation:
    """Bifurcation diagram of a C++ MLP (:mod:`sharpdyn.mlp`) over learning rates.

    Parameters
    ----------
    spec:
        An :class:`sharpdyn.mlp.MLPSpec` (MSE or cross-entropy, any activation).
    X, Y:
        Training set ``(N, d_in)``, ``(N, d_out)``.
    lr, c:
        Exactly one: learning rates ``(L,)`` or ``c = lr * lambda_0`` (``lambda_0`` of the
        network initialised with ``seed``).
    steps:
        Updates before the late window (loss every step, sharpness every ``sharpness_every``).
    n_keep:
        Length ``W`` of the late window (sharpness, loss and tangent every step), >= 4.
    seed:
        Initialisation seed (the same network for every learning rate); also seeds the
        Lanczos start vectors and the tangent vector.
    threads:
        OpenMP threads over runs (results do not depend on it).
    lyapunov_skip:
        Steps at the start of the late window not averaged into the exponent (default ``n_keep // 4``).
    max_period, period_rtol:
        Period detection (default ``max_period = min(64, n_keep // 2)``).
    divergence_factor:
        As in :func:`sharpdyn.mlp.train` (for each phase, relative to its first loss).

    Notes
    -----
    Phase 1 is :func:`sharpdyn.mlp.train` over all learning rates at once. Phase 2 continues
    every run from its final parameters with ``mlp.train(..., initial_params=...,
    sharpness_every=1)`` (all runs in parallel, sharpness by warm-started Lanczos on exact HVPs)
    for the late ``eta_sharpness`` and loss. The tangent vector is then carried along the same
    GD steps in a NumPy loop with exact HVPs (:meth:`sharpdyn.mlp.MLP.hvp`); the loop replays the
    parameters with :meth:`~sharpdyn.mlp.MLP.gradient`, which reproduces phase 2's iterates (the
    same C++ arithmetic), so the exponent is measured on the recorded trajectory.
    """
    from . import mlp as _mlp

    if not isinstance(spec, _mlp.MLPSpec):
        raise TypeError(f"spec must be an MLPSpec, got {type(spec).__name__}")
    axis, normalized = _lr_or_c(lr, c)
    steps, n_keep, every, seed, skip, mp, rtol = _common(steps, n_keep, sharpness_every, seed, lyapunov_skip,
                                                         max_period, period_rtol)
    x, y = _mlp.check_data(spec, X, Y)
    kw: dict[str, Any] = dict(seeds=[seed], threads=threads, divergence_factor=divergence_factor)
    first = require_complete(_mlp.train(spec, x, y, lr=None if normalized else axis, c=axis if normalized else None,
                                 steps=steps, sharpness_every=every, **kw))
    lrs = first.lr[0, :, 0]
    L = lrs.size
    P = spec.num_params
    final = first.params[0][:, 0, :]
    dvg = first.diverged[0, :, 0].copy()
    at = first.diverged_at[0, :, 0].copy()
    eta_sh = np.full((L, n_keep), np.nan)
    loss_late = np.full((L, n_keep), np.nan)
    lyap = np.full(L, np.nan)
    alive = np.flatnonzero(~dvg)
    if alive.size:
        second = require_complete(_mlp.train(spec, x, y, lr=lrs[alive], steps=n_keep, sharpness_every=1,
                                      initial_params=final[alive], **kw))
        sh2 = second.sharpness[0, :, 0, :n_keep]
        l2 = second.loss[0, :, 0, :n_keep]
        eta_sh[alive] = lrs[alive, None] * sh2
        loss_late[alive] = l2
        d2 = second.diverged[0, :, 0]
        a2 = second.diverged_at[0, :, 0]
        for j, i in enumerate(alive):
            if d2[j] and a2[j] < n_keep:
                dvg[i] = True
                at[i] = steps + a2[j]
                eta_sh[i, a2[j]:] = np.nan
                loss_late[i, a2[j]:] = np.nan
                continue
            net = _mlp.MLP.from_spec(spec, params=final[i])
            theta = final[i].copy()
            v = np.random.default_rng(seed).standard_normal(P)
            v /= np.linalg.norm(v)
            growth = np.empty(n_keep)
            for t in range(n_keep):
                net.params = theta
                g = net.gradient(x, y)
                w = v - lrs[i] * net.hvp(x, y, v)
                nrm = float(np.linalg.norm(w))
                growth[t] = np.log(nrm) if nrm > 0 else -np.inf
                v = w / nrm if nrm > 0 else v
                theta = theta - lrs[i] * g
            lyap[i] = _lyapunov_from_growth(growth, skip)
    sharp0 = first.sharpness[0, :, 0, 0]
    settings = {
        "backend": "mlp", "widths": list(spec.widths), "activation": spec.activation, "param": spec.param,
        "bias": bool(spec.bias), "loss": spec.loss, "init_scale": spec.init_scale, "n_examples": int(x.shape[0]),
        "lr": lrs.tolist(), "c": (axis.tolist() if normalized else None), "steps": steps, "n_keep": n_keep,
        "sharpness_every": every, "seed": seed, "lyapunov_skip": skip, "max_period": mp, "period_rtol": rtol,
        "divergence_factor": float(divergence_factor),
    }
    return _finish(lr=lrs, sharpness0=sharp0, steps=steps, n_keep=n_keep, eta_sharpness=eta_sh, loss_late=loss_late,
                   lyapunov=lyap, diverged=dvg, diverged_at=at, loss=first.loss[0, :, 0, :],
                   sharpness=first.sharpness[0, :, 0, :], sharpness_steps=first.sharpness_steps, settings=settings,
                   period_rtol=rtol, max_period=mp)


# ---------------------------------------------------------------------- torch
def _torch_sharpness0(model_factory: Callable[[int], Any], data: Any, loss: Any, seed: int, device: Any) -> float:
    import torch

    from .torch import hessian_eigenvalues

    model = model_factory(seed)
    if device is not None:
        model = model.to(device)
    X, Y = data
    p0 = next(model.parameters())
    X = torch.as_tensor(X).to(p0.device, p0.dtype)
    Yt = torch.as_tensor(Y)
    Yt = Yt.to(p0.device, p0.dtype) if Yt.is_floating_point() else Yt.to(p0.device)
    return float(hessian_eigenvalues(model, loss, (X, Yt), k=1, tol=1e-6, seed=seed).eigenvalues[0])


def torch_bifurcation_run(
    model_factory: Callable[[int], Any],
    data: Any,
    lr: float | None,
    *,
    steps: int,
    n_keep: int = 64,
    loss: str = "mse",
    sharpness_every: int = 10,
    seed: int = 0,
    device: Any = None,
    c: float | None = None,
    lyapunov_skip: int | None = None,
    max_period: int | None = None,
    period_rtol: float = 1e-3,
    tol: float = 1e-6,
    eig_tol: float | None = None,
) -> Bifurcation:
    """One learning rate of :func:`torch_bifurcation` (an ``L = 1`` :class:`Bifurcation`;
    combine many with :meth:`Bifurcation.from_runs`).

    ``model = model_factory(seed)`` (moved to ``device`` if given) is trained in place by
    :func:`sharpdyn.torch.train`: ``steps`` updates with the sharpness every ``sharpness_every``,
    then ``n_keep`` more with the sharpness every step and ``lyapunov=True`` (tangent vector
    propagated with exact HVPs). ``c`` (instead of ``lr``; pass ``lr=None``) is recorded as given;
    ``tol`` is the Lanczos relative residual of each measurement, ``eig_tol`` the optional
    eigenvalue-error stop of :func:`sharpdyn.torch.train` (fewer HVPs for warm-started measurements).
    """
    from .torch import train as _train

    steps, n_keep, every, seed, skip, mp, rtol = _common(steps, n_keep, sharpness_every, seed, lyapunov_skip,
                                                         max_period, period_rtol)
    if not callable(model_factory):
        raise TypeError("model_factory must be callable: seed -> torch.nn.Module")
    if (lr is None) == (c is None):
        raise ValueError("give exactly one of lr or c")
    if c is not None:
        cc = positive_float(c, "c")
        lr = cc / _torch_sharpness0(model_factory, data, loss, seed, device)
    eta = positive_float(lr, "lr")
    model = model_factory(seed)
    if device is not None:
        model = model.to(device)
    first = require_complete(_train(model, data, lr=eta, steps=steps, loss=loss, sharpness_every=every, seed=seed,
                                    tol=tol, eig_tol=eig_tol))
    eta_sh = np.full((1, n_keep), np.nan)
    loss_late = np.full((1, n_keep), np.nan)
    lyap = np.full(1, np.nan)
    diverged, at = first.diverged, first.diverged_at
    if not diverged:
        second = require_complete(_train(model, data, lr=eta, steps=n_keep, loss=loss, sharpness_every=1, seed=seed,
                                  tol=tol, eig_tol=eig_tol, lyapunov=True))
        sh = second.sharpness[:n_keep]
        eta_sh[0, :sh.size] = eta * sh
        loss_late[0] = second.loss[:n_keep]
        if second.diverged:
            diverged, at = True, steps + second.diverged_at
            eta_sh[0, second.diverged_at:] = np.nan
            loss_late[0, second.diverged_at:] = np.nan
        else:
            run = second.lyapunov  # running exponent: run[t+1] = mean of the first t+1 log growths
            t = np.arange(n_keep)
            prev = np.where(t > 0, run[np.maximum(t, 1)] * t, 0.0)
            growth = run[t + 1] * (t + 1) - prev
            lyap[0] = _lyapunov_from_growth(growth, skip)
    M = steps // every + 1
    sharp = np.full((1, M), np.nan)
    k = min(M, int(np.sum(first.sharpness_steps % every == 0)))
    sharp[0, :k] = first.sharpness[:k]
    settings = {
        "backend": "torch", "model": getattr(model_factory, "__name__", repr(model_factory)), "loss": str(loss),
        "n_examples": int(len(data[0])), "lr": [eta], "c": None if c is None else [float(c)], "steps": steps,
        "n_keep": n_keep, "sharpness_every": every, "seed": seed, "lyapunov_skip": skip, "max_period": mp,
        "period_rtol": rtol, "tol": tol, "eig_tol": eig_tol, "device": None if device is None else str(device),
    }
    sharp0 = np.array([first.sharpness[0] if first.sharpness.size else np.nan])
    return _finish(lr=np.array([eta]), sharpness0=sharp0, steps=steps, n_keep=n_keep, eta_sharpness=eta_sh,
                   loss_late=loss_late, lyapunov=lyap, diverged=np.array([diverged]), diverged_at=np.array([at]),
                   loss=first.loss[None, :], sharpness=sharp, sharpness_steps=np.arange(0, M * every, every),
                   settings=settings, period_rtol=rtol, max_period=mp)


def torch_bifurcation(
    model_factory: Callable[[int], Any],
    data: Any,
    *,
    lr: ArrayLike | None = None,
    c: ArrayLike | None = None,
    steps: int,
    n_keep: int = 64,
    loss: str = "mse",
    sharpness_every: int = 10,
    seed: int = 0,
    device: Any = None,
    lyapunov_skip: int | None = None,
    max_period: int | None = None,
    period_rtol: float = 1e-3,
    tol: float = 1e-6,
    eig_tol: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> Bifurcation:
    """Bifurcation diagram of any PyTorch model over learning rates (or ``c = lr * lambda_0``):
    :func:`torch_bifurcation_run` for each, combined by :meth:`Bifurcation.from_runs`.
    ``model_factory(seed)`` must return the same initial network on every call. ``progress`` is
    called with the number of finished runs."""
    axis, normalized = _lr_or_c(lr, c)
    _common(steps, n_keep, sharpness_every, seed, lyapunov_skip, max_period, period_rtol)
    if normalized:
        lam0 = _torch_sharpness0(model_factory, data, loss, nonnegative_int(seed, "seed"), device)
        lrs = axis / lam0
    else:
        lrs = axis
    runs = []
    for i, eta in enumerate(lrs):
        runs.append(torch_bifurcation_run(model_factory, data, float(eta), steps=steps, n_keep=n_keep, loss=loss,
                                          sharpness_every=sharpness_every, seed=seed, device=device,
                                          lyapunov_skip=lyapunov_skip, max_period=max_period,
                                          period_rtol=period_rtol, tol=tol, eig_tol=eig_tol))
        if progress is not None:
            progress(i + 1)
    out = Bifurcation.from_runs(runs)
    if normalized:
        out = replace(out, settings=dict(out.settings, c=np.sort(axis).tolist()))
    return out
