"""Labelled phase scans over named axes, chunked, resumable and distributable.

:func:`grid` runs :func:`sharpdyn.scan.uv` (or real parameter-space gradient descent,
``model="weights"``, or the cubic map) over the Cartesian product of named axes and returns
an ``xarray.Dataset`` with one coordinate per axis and one variable per per-point quantity.

Axes (each a 1-D array of values; any name not given as an axis is a fixed keyword):

- physical: ``lr`` *or* ``c`` (``lr = c / ntk0``), ``ntk0`` (initial NTK), ``f0``
  (initial output), ``y`` (target), ``width``, ``x`` (input), ``param`` (exponent ``s``
  in [0, 1] or a name, ``"sp"``/``"mup"``; stored as ``s``);
- cubic map (``model="cubic"``, :func:`sharpdyn.scan.cubic`): ``r`` and ``x0`` (default 0.5);
- normalised (one picture for every width and parameterization, see ``shared/paper.md``):
  ``c`` (the initial ``z = lr ntk0``), ``Y = lr sqrt(kappa) y`` and ``g0 = lr sqrt(kappa)(f0 - y)``
  (default ``-Y``, i.e. ``f0 = 0``); chosen by giving ``Y`` (as an axis or a keyword).

The grid is split along its first axis into chunks of about ``chunk_size`` points. With
``store=`` every finished chunk is written to a Zarr group (each chunk file is written
atomically, then the chunk is marked done), so an interrupted scan resumes where it
stopped; ``client=`` (a ``dask.distributed.Client``) maps chunks to workers. Every point
is independent and computed by the same code, so the result is identical, bit for bit,
whatever the chunking, thread count, resumption or cluster.

The learning rate is computed once per chunk (``lr = c / ntk0`` when the scan is given
``c``; :data:`~sharpdyn.scan.statistics.MAP_LR` for the maps in their own units), run with,
and carried into the Dataset; :func:`learning_rate` is how figures and summaries read it.

This module imports :mod:`sharpdyn.scan.points` and :mod:`sharpdyn.scan.statistics`, never
the other way round.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .. import parameterization as _param
from .. import regimes as _regimes
from ..simd import isa_arg
from ..validation import (
    as_float_array,
    check_allocation,
    check_disk,
    positive_int,
    product,
    threads_arg,
)
from .points import run_cubic_flat, run_flat
from .statistics import MAP_LR, criteria_arg, series_statistics

if TYPE_CHECKING:
    import xarray
    import zarr

__all__ = ["CUBIC_AXES", "FIELDS", "GRID_BYTES_PER_POINT", "NORMALIZED_AXES", "PHYSICAL_AXES",
           "STORE_BYTES_PER_POINT", "GridSpec", "check_grid_size", "compute_chunk", "grid", "grid_spec",
           "learning_rate"]

PHYSICAL_AXES: tuple[str, ...] = ("lr", "c", "ntk0", "f0", "y", "width", "x", "param")
NORMALIZED_AXES: tuple[str, ...] = ("c", "Y", "g0")
CUBIC_AXES: tuple[str, ...] = ("r", "x0")
FIELDS: tuple[str, ...] = (
    "f", "ntk", "diverged", "diverged_at", "converged_at", "initial_loss", "max_loss", "final_loss",
    "initial_sharpness", "final_sharpness", "min_sharpness", "max_sharpness", "late_edge_ratio",
    "late_loss_increase", "regime",
)
"""Per-point variables of every scan (see :class:`sharpdyn.scan.UVScan`)."""

GRID_BYTES_PER_POINT = 560
"""Memory one grid point needs while :func:`grid` runs: the finished chunks, the Dataset they
are concatenated into, and the chunk being computed (measured 513 bytes)."""
STORE_BYTES_PER_POINT = 128
"""Disk one grid point may take in a Zarr store (every variable uncompressed; an upper bound)."""

_DEFAULTS = {"ntk0": 1.0, "f0": 0.0, "y": 1.0, "x": 1.0, "param": 0.0}
_STORE_FORMAT = "sharpdyn.scan_grid/1"  # the store format's name, kept so that stores written before resume


@dataclass(frozen=True)
class GridSpec:
    """A validated scan: everything that determines its result (picklable, JSON-able).

    Attributes
    ----------
    dims, coords:
        Axis names and their values (float64; ``param`` as the exponent ``s``).
    fixed:
        Values of the non-axis inputs.
    normalized:
        Whether the scan is in the normalised ``(c, Y, g0)`` variables.
    model:
        ``"function"`` (exact function-space map) or ``"weights"`` (GD on ``(u, v)``).
    steps, sharpness_every, criteria, seed, sigma:
        Run length, sharpness sampling, regime thresholds; for ``model="weights"`` the
        base seed (point ``i`` of the flattened grid uses ``default_rng((seed, i))``)
        and the initial weight scale.
    rows_per_chunk:
        Chunk length along the first axis.
    """

    dims: tuple[str, ...]
    coords: tuple[tuple[float, ...], ...]
    fixed: tuple[tuple[str, float], ...]
    normalized: bool
    model: str
    steps: int
    sharpness_every: int
    criteria: _regimes.RegimeCriteria
    seed: int
    sigma: float
    rows_per_chunk: int
    threads: int = field(default=0, compare=False)
    isa: str = field(default="auto", compare=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.coords)

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.shape[0] / self.rows_per_chunk)

    def chunk_rows(self, k: int) -> tuple[int, int]:
        r0 = k * self.rows_per_chunk
        return r0, min(r0 + self.rows_per_chunk, self.shape[0])

    def to_json(self) -> str:
        d = {
            "format": _STORE_FORMAT, "dims": list(self.dims), "coords": [list(c) for c in self.coords],
            "fixed": [list(kv) for kv in self.fixed], "normalized": self.normalized, "model": self.model,
            "steps": self.steps, "sharpness_every": self.sharpness_every, "criteria": asdict(self.criteria),
            "seed": self.seed, "sigma": self.sigma, "rows_per_chunk": self.rows_per_chunk,
        }
        return json.dumps(d, sort_keys=True)

    def values(self, name: str, r0: int, r1: int) -> NDArray[np.float64]:
        """Input ``name`` on rows ``[r0, r1)`` of the grid, broadcast to the chunk shape."""
        shape = (r1 - r0,) + self.shape[1:]
        if name in self.dims:
            axis = self.dims.index(name)
            v = np.asarray(self.coords[axis], dtype=np.float64)
            if axis == 0:
                v = v[r0:r1]
            view = [1] * len(shape)
            view[axis] = v.size
            return np.broadcast_to(v.reshape(view), shape)
        return np.broadcast_to(np.float64(dict(self.fixed)[name]), shape)


def _axis_values(name: str, values: Any) -> NDArray[np.float64]:
    if name == "param":
        items = [values] if isinstance(values, (str, float, int)) else list(values)
        if len(items) == 0:
            raise ValueError("axis 'param' is empty")
        return np.array([_param.exponent(v) for v in items], dtype=np.float64)
    arr = as_float_array(values, f"axis {name!r}", allow_empty=True)
    if arr.ndim != 1:
        raise ValueError(f"axis {name!r} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"axis {name!r} is empty")
    _check_domain(name, arr)
    return arr


def _check_domain(name: str, arr: NDArray[np.float64]) -> None:
    if name in ("lr", "c", "width") and np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0 everywhere")
    if name == "ntk0" and np.any(arr < 0):
        raise ValueError("ntk0 must be >= 0 everywhere")


def _fixed_value(name: str, value: Any) -> float:
    if name == "param":
        return _param.exponent(value)
    arr = as_float_array(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar when it is not an axis (give it in axes=), got shape {arr.shape}")
    _check_domain(name, arr)
    return float(arr)


def grid_spec(
    axes: Mapping[str, ArrayLike],
    *,
    steps: int,
    fixed: Mapping[str, Any],
    model: str = "function",
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    seed: int = 0,
    sigma: float = 1.0,
    chunk_size: int | None = None,
    threads: int | None = None,
    isa: str = "auto",
) -> GridSpec:
    """Validate a scan's axes and fixed inputs (see :func:`grid`) into a :class:`GridSpec`."""
    if not isinstance(axes, Mapping) or len(axes) == 0:
        raise ValueError("axes must be a non-empty mapping {name: 1-D values}")
    fixed = {k: v for k, v in fixed.items() if v is not None}
    if model not in ("function", "weights", "cubic"):
        raise ValueError(f"model must be 'function', 'weights' or 'cubic', got {model!r}")
    normalized = model != "cubic" and ("Y" in axes or "Y" in fixed)
    known = CUBIC_AXES if model == "cubic" else NORMALIZED_AXES if normalized else PHYSICAL_AXES
    all_names = set(PHYSICAL_AXES + NORMALIZED_AXES + CUBIC_AXES)
    for name in list(axes) + list(fixed):
        if name not in all_names:
            raise ValueError(f"unknown axis name {name!r}; known: {sorted(all_names)}")
        if name not in known:
            raise ValueError(
                f"{name!r} is not an axis of the cubic map {CUBIC_AXES}" if model == "cubic"
                else f"{name!r} cannot be combined with the normalised axes {NORMALIZED_AXES}"
                if normalized else f"{name!r} is not a physical axis"
            )
    both = set(axes) & set(fixed)
    if both:
        raise ValueError(f"{sorted(both)} given both as an axis and as a fixed value")
    dims = tuple(axes)
    coords = tuple(tuple(_axis_values(name, axes[name]).tolist()) for name in dims)
    values = {name: _fixed_value(name, v) for name, v in fixed.items()}
    present = set(dims) | set(values)
    if model == "cubic":
        if "r" not in present:
            raise ValueError("a cubic-map scan needs r (axis or keyword)")
        if "x0" not in present:
            values["x0"] = 0.5
    elif normalized:
        if model != "function":
            raise ValueError("model='weights' runs at a finite width: use the physical axes, not Y")
        if "c" not in present:
            raise ValueError("a normalised scan needs c (axis or keyword)")
    else:
        if ("lr" in present) == ("c" in present):
            raise ValueError("give exactly one of lr and c (as an axis or a keyword)")
        if "width" not in present:
            raise ValueError("width is required (as an axis or a keyword)")
        if "c" in present and model == "function":
            ntk = coords[dims.index("ntk0")] if "ntk0" in dims else (values.get("ntk0", _DEFAULTS["ntk0"]),)
            if min(ntk) <= 0:
                raise ValueError("ntk0 must be > 0 when the learning rate is given as c = lr * ntk0")
        if model == "weights":
            for name in ("ntk0", "f0"):
                if name in present:
                    raise ValueError(f"model='weights' draws {name} from random weights; do not give {name}")
            widths = coords[dims.index("width")] if "width" in dims else (values["width"],)
            if any(w != int(w) for w in widths):
                raise ValueError("model='weights' needs integer widths")
        else:
            for name in ("ntk0", "f0", "y", "x", "param"):
                if name not in present:
                    values[name] = _DEFAULTS[name]
        for name in ("y", "x", "param"):
            if name not in present:
                values[name] = _DEFAULTS[name]
    steps = positive_int(steps, "steps")
    sharpness_every = positive_int(sharpness_every, "sharpness_every")
    criteria = criteria_arg(criteria)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    sigma = _fixed_value("sigma", sigma)
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if chunk_size is None:
        chunk_size = 256 if model == "weights" else 1 << 18
    chunk_size = positive_int(chunk_size, "chunk_size")
    shape = tuple(len(c) for c in coords)
    row = int(np.prod(shape[1:], dtype=np.int64))
    return GridSpec(
        dims=dims, coords=coords, fixed=tuple(sorted(values.items())), normalized=normalized, model=model,
        steps=steps, sharpness_every=sharpness_every, criteria=criteria, seed=int(seed), sigma=sigma,
        rows_per_chunk=max(1, chunk_size // max(row, 1)), threads=threads_arg(threads), isa=isa_arg(isa),
    )


def check_grid_size(spec: GridSpec, store: str | Path | None = None) -> None:
    """Refuse (``ValueError`` naming ``axes``) a scan whose result would not fit in memory, or
    whose store would not fit on its disk (``store`` not yet created; a resumed store is checked
    by :func:`grid` for the chunks still to do). See :func:`sharpdyn.validation.check_allocation`
    for the limits and their overrides (``SHARPDYN_MAX_BYTES``, ``SHARPDYN_MAX_DISK_BYTES``)."""
    points = product(*spec.shape)
    what = f"{points:,} points ({' x '.join(map(str, spec.shape))})"
    check_allocation(GRID_BYTES_PER_POINT * points, "axes",
                     hint=f"{what}; the result is returned in memory: scan fewer points, or split the first "
                          "axis over several calls (each with its own store=)")
    if spec.model == "weights":
        row = product(*spec.shape[1:])
        widths = spec.coords[spec.dims.index("width")] if "width" in spec.dims else (dict(spec.fixed)["width"],)
        chunk_points = min(spec.rows_per_chunk * row, points)
        check_allocation(chunk_points * (40 * (spec.steps + 1) + 24 * int(max(widths))), "steps",
                         hint=f"model='weights' records {spec.steps + 1} steps for each of {chunk_points:,} points "
                              "of a chunk; give a smaller chunk_size or fewer steps")
    if store is not None and not Path(store).exists():
        check_disk(STORE_BYTES_PER_POINT * points, "store", store,
                   hint=f"{what}; choose a store on a larger disk or scan fewer points")


class FunctionInputs(NamedTuple):
    """The inputs of the function-space kernel on a chunk (arrays of the chunk's shape)."""

    lr: NDArray[np.float64]
    ntk0: NDArray[np.float64]
    f0: NDArray[np.float64]
    kappa: NDArray[np.float64]
    y: NDArray[np.float64]


def _function_inputs(spec: GridSpec, r0: int, r1: int) -> FunctionInputs:
    """The kernel inputs on rows [r0, r1), as :func:`sharpdyn.scan.uv` and
    :func:`sharpdyn.scan.uv_normalized` compute them.

    This is where a scan's learning rate is computed, once: the ``lr`` axis or value, else
    ``c / ntk0``, and :data:`~sharpdyn.scan.statistics.MAP_LR` for the normalised map (whose
    ``ntk0`` is ``c``). The kernel runs with it and the Dataset carries it.
    """
    def v(name: str) -> NDArray[np.float64]:
        return spec.values(name, r0, r1)

    if spec.normalized:
        c, Y = v("c"), v("Y")
        g0 = -Y if "g0" not in spec.dims and "g0" not in dict(spec.fixed) else v("g0")
        return FunctionInputs(lr=np.full_like(c, MAP_LR), ntk0=c, f0=g0 + Y, kappa=np.ones_like(c), y=Y)
    width, x, s = v("width"), v("x"), v("param")
    kappa = np.empty(width.shape)
    for s_value in np.unique(s):  # kappa exactly as scan.uv: parameterization.kappa per exponent
        sel = s == s_value
        kappa[sel] = _param.kappa(width[sel], x[sel] * x[sel], float(s_value))
    lam = v("ntk0")
    lr = v("lr") if "lr" in spec.dims or "lr" in dict(spec.fixed) else v("c") / lam
    return FunctionInputs(lr=lr, ntk0=lam, f0=v("f0"), kappa=kappa, y=v("y"))


def compute_chunk(spec: GridSpec, k: int) -> dict[str, NDArray[Any]]:
    """Per-point results on chunk ``k`` (rows ``spec.chunk_rows(k)``), shaped like the rows.

    A pure function of ``(spec, k)``: what :func:`grid` runs locally or on Dask workers.
    """
    return _timed_chunk(spec, k)[0]


def _timed_chunk(spec: GridSpec, k: int) -> tuple[dict[str, NDArray[Any]], float]:
    """:func:`compute_chunk` and the seconds spent in its kernel calls (the model's runs,
    without input preparation)."""
    r0, r1 = spec.chunk_rows(k)
    shape = (r1 - r0,) + spec.shape[1:]
    if spec.model == "weights":
        t0 = time.perf_counter()
        out = _weights_chunk(spec, r0, r1)
        kernel = time.perf_counter() - t0
    elif spec.model == "cubic":
        r = np.ascontiguousarray(spec.values("r", r0, r1)).ravel()
        x0 = np.ascontiguousarray(spec.values("x0", r0, r1)).ravel()
        t0 = time.perf_counter()
        out = run_cubic_flat(r, x0, steps=spec.steps, sharpness_every=spec.sharpness_every, criteria=spec.criteria,
                             threads=spec.threads, isa=spec.isa)
        kernel = time.perf_counter() - t0
    else:
        inputs = _function_inputs(spec, r0, r1)
        lr = np.ascontiguousarray(inputs.lr).ravel()  # the one learning rate: run with, labelled with, stored
        if np.any(~np.isfinite(lr)):
            raise ValueError("c / ntk0 is not finite: ntk0 must be > 0 where c is given")
        t0 = time.perf_counter()
        out = run_flat(lr, inputs.ntk0.ravel(), inputs.f0.ravel(), inputs.kappa.ravel(), inputs.y.ravel(),
                       steps=spec.steps, sharpness_every=spec.sharpness_every, criteria=spec.criteria,
                       threads=spec.threads, isa=spec.isa)
        kernel = time.perf_counter() - t0
        if not spec.normalized:
            out["lr"] = lr  # normalised: the Dataset's attribute "lr" (MAP_LR)
    if "lr" in spec.dims:
        out.pop("lr", None)  # the coordinate holds it (model="weights" returned it too)
    return {name: np.asarray(a).reshape(shape) for name, a in out.items()}, kernel


def _weights_chunk(spec: GridSpec, r0: int, r1: int) -> dict[str, NDArray[Any]]:
    """Parameter-space GD (sharpdyn.uv.train) from per-point random weights; ``lr = c / ntk0``
    is computed here from the drawn ``ntk0`` when ``c`` is given, run with and returned."""
    from .. import uv as _uv

    def v(name: str) -> NDArray[np.float64]:
        return np.ascontiguousarray(spec.values(name, r0, r1)).ravel()

    width, x, y, s = v("width"), v("x"), v("y"), v("param")
    n_points = width.size
    row = int(np.prod(spec.shape[1:], dtype=np.int64))
    index = r0 * row + np.arange(n_points)
    given_lr = "lr" in spec.dims or "lr" in dict(spec.fixed)
    rate = v("lr") if given_lr else v("c")
    keys = np.stack([width, x, y, s], axis=1)
    out: dict[str, NDArray[Any]] = {}
    for key in np.unique(keys, axis=0):
        sel = np.flatnonzero(np.all(keys == key, axis=1))
        n, xv, yv, sv = int(key[0]), float(key[1]), float(key[2]), float(key[3])
        std = float(_param.init_std(n, sv, spec.sigma))
        u = np.empty((sel.size, n))
        w = np.empty((sel.size, n))
        for row_i, i in enumerate(index[sel]):
            rng = np.random.default_rng((spec.seed, int(i)))
            u[row_i] = rng.standard_normal(n) * std
            w[row_i] = rng.standard_normal(n) * std
        gam = float(_param.gamma(n, sv))
        h = u * xv
        ntk0 = gam * gam * (np.einsum("bn,bn->b", h, h) + np.einsum("bn,bn->b", w, w) * xv * xv)
        lr = rate[sel] if given_lr else rate[sel] / ntk0
        tr = _uv.train(u, w, lr=lr, steps=spec.steps, x=xv, y=yv, param=sv, threads=spec.threads or None)
        part = series_statistics(tr, sharpness_every=spec.sharpness_every, criteria=spec.criteria)
        part.update(f0=tr.f[:, 0], ntk0=tr.ntk[:, 0], lr=lr)
        for name, a in part.items():
            out.setdefault(name, np.empty(n_points, dtype=a.dtype))[sel] = a
    return out


# ----------------------------------------------------------------------------------- store


class _ZarrStore:
    """A Zarr group holding one array per variable (chunked like the scan) and a ``done``
    flag per chunk, written after the chunk's data."""

    def __init__(self, path: str | Path, spec: GridSpec):
        try:
            import zarr
        except ImportError as exc:  # pragma: no cover - exercised without the extra only
            raise ImportError("store= needs zarr: pip install 'sharpdyn[scan]'") from exc
        self.spec = spec
        self.path = str(path)
        # the real metadata, never a consolidated copy (it is rewritten when the scan completes)
        self.group = zarr.open_group(self.path, mode="a", use_consolidated=False)
        attrs = dict(self.group.attrs)
        if "sharpdyn_scan" in attrs:
            if attrs["sharpdyn_scan"] != spec.to_json():
                raise ValueError(f"store {str(path)!r} holds a different scan; use a new path")
        elif len(list(self.group.keys())) > 0:
            raise ValueError(f"store {str(path)!r} is not empty and holds no sharpdyn scan")
        else:
            self.group.attrs["sharpdyn_scan"] = spec.to_json()
        if "done" not in self.group:
            self.group.create_array("done", shape=(spec.n_chunks,), chunks=(1,), dtype="uint8", fill_value=0,
                                    dimension_names=("chunk",))

    def _array(self, name: str) -> zarr.Array:
        """The group's array ``name``."""
        import zarr

        arr = self.group[name]
        if not isinstance(arr, zarr.Array):
            raise ValueError(f"store {self.path!r}: {name!r} is a group, not an array of the scan")
        return arr

    def done(self) -> NDArray[np.bool_]:
        return np.asarray(self._array("done")[:], dtype=bool)

    def write(self, k: int, data: Mapping[str, NDArray[Any]]) -> None:
        r0, r1 = self.spec.chunk_rows(k)
        chunks = (self.spec.rows_per_chunk,) + self.spec.shape[1:]
        for name, a in data.items():
            if name not in self.group:
                self.group.create_array(name, shape=self.spec.shape, chunks=chunks, dtype=a.dtype,
                                        fill_value=_fill(a.dtype), dimension_names=self.spec.dims)
            self._array(name)[r0:r1] = a
        self._array("done")[k] = 1

    def read(self, k: int) -> dict[str, NDArray[Any]]:
        r0, r1 = self.spec.chunk_rows(k)
        skip = {"done", *self.spec.dims}
        return {name: np.asarray(arr[r0:r1]) for name, arr in self.group.arrays() if name not in skip}

    def finalize(self, ds: xarray.Dataset) -> None:
        """Write the coordinates and attributes of the finished scan ``ds`` and consolidate
        the metadata, so that a plain ``xarray.open_zarr(path)`` opens it as ``ds``."""
        import zarr

        for dim in self.spec.dims:
            values = np.asarray(ds[dim].values, dtype=np.float64)
            if dim in self.group:
                if not np.array_equal(np.asarray(self._array(dim)[:]), values):
                    raise ValueError(f"store {self.path!r}: array {dim!r} is not the coordinate of the scan")
                continue
            arr = self.group.create_array(dim, shape=values.shape, chunks=values.shape, dtype="float64",
                                          fill_value=np.nan, dimension_names=(dim,))
            arr[:] = values
        for key, var in ds.data_vars.items():
            name = str(key)
            if var.attrs and name in self.group:
                self.group[name].attrs.update(_json_attrs(var.attrs))
        self.group.attrs.update(_json_attrs(ds.attrs))
        with warnings.catch_warnings():
            # zarr 3 consolidates inline in zarr.json and warns that this is not yet in the v3 spec;
            # zarr-python and xarray read it, which is what the scan's users call
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part",
                                    category=UserWarning)
            zarr.consolidate_metadata(self.path)


def _json_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes as JSON types (NumPy scalars and arrays to Python numbers and lists)."""
    return {k: (v.tolist() if isinstance(v, (np.ndarray, np.generic)) else v) for k, v in attrs.items()}


def _fill(dtype: np.dtype[Any]) -> Any:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.nan
    if dtype.kind == "b":
        return False
    return -1 if dtype.kind == "i" else 0


# ------------------------------------------------------------------------------------ grid


def grid(
    axes: Mapping[str, ArrayLike],
    *,
    steps: int,
    lr: float | None = None,
    c: float | None = None,
    ntk0: float | None = None,
    f0: float | None = None,
    y: float | None = None,
    width: float | None = None,
    x: float | None = None,
    param: _param.Param | None = None,
    Y: float | None = None,
    g0: float | None = None,
    r: float | None = None,
    x0: float | None = None,
    model: str = "function",
    seed: int = 0,
    sigma: float = 1.0,
    sharpness_every: int = 1,
    criteria: _regimes.RegimeCriteria = _regimes.DEFAULT_CRITERIA,
    chunk_size: int | None = None,
    store: str | Path | None = None,
    client: Any = None,
    progress: bool = True,
    threads: int | None = None,
    isa: str = "auto",
    on_chunk: Callable[[int], None] | None = None,
    timings: dict[str, float] | None = None,
) -> xarray.Dataset:
    """Scan the UV model over the Cartesian product of named axes.

    Parameters
    ----------
    axes:
        ``{name: 1-D values}`` in dimension order, e.g. ``{"c": np.linspace(0.5, 5, 512),
        "f0": np.linspace(-2, 2, 512)}``. Names: see the module docstring. Empty axes,
        non-finite values and unknown names raise ``ValueError``.
    steps:
        GD steps per point (>= 1).
    lr, c, ntk0, f0, y, width, x, param, Y, g0:
        Fixed values of the inputs that are not axes (defaults: ``ntk0=1``, ``f0=0``,
        ``y=1``, ``x=1``, ``param="sp"``; ``g0=-Y``); ``width`` and one of ``lr``/``c`` are
        required in a physical scan, ``c`` in a normalised one.
    model:
        ``"function"`` (default): the exact function-space map. ``"weights"``: real
        gradient descent on ``(u, v)`` (:func:`sharpdyn.uv.train`) at the given integer
        width from random weights ``N(0, sigma^2/n^s)``; point ``i`` of the row-major
        flattened grid uses ``numpy.random.default_rng((seed, i))``, so results do not
        depend on chunking. ``f0``/``ntk0`` are then outputs (the drawn initial state),
        and ``c`` means ``lr = c / ntk0`` per point. ``"cubic"``: the cubic map over
        ``r``/``x0`` (:func:`sharpdyn.scan.cubic`; its final state is the variable ``x``).
    sharpness_every, criteria:
        As in :func:`sharpdyn.scan.uv`.
    chunk_size:
        Points per chunk (rounded to whole rows of the first axis); default 2^18
        (``model="weights"``: 256).
    store:
        Path of a Zarr group. Finished chunks are written there as they complete and
        skipped when the same scan is run again (resume). A store holding another scan
        raises ``ValueError``; so does a store the disk has no room for (up to
        :data:`STORE_BYTES_PER_POINT` bytes a point; override with ``SHARPDYN_MAX_DISK_BYTES``).
    client:
        A ``dask.distributed.Client``: chunks run as tasks on its workers.
    progress:
        Show a tqdm progress bar over chunks.
    threads, isa:
        OpenMP threads per chunk and instruction set (never change the result).
    on_chunk:
        Called with the chunk index after each chunk is stored (a hook for monitoring).
    timings:
        A dict that, when given, is filled with where the time went (seconds):
        ``compute_seconds`` (inside the model's kernels only, summed over chunks; on a
        cluster, worker time), ``store_seconds`` (opening, writing and reading the Zarr
        store, and its final metadata), ``wall_seconds`` (the whole call) and
        ``computed_points`` (points computed by this call; resumed chunks are read instead).

    Returns
    -------
    xarray.Dataset
        Dimensions ``axes`` (``param`` as the exponent ``s``), variables :data:`FIELDS`
        (``regime`` as codes with CF ``flag_values``/``flag_meanings``), plus ``lr`` (the
        learning rate every point ran with, computed once from ``c`` and ``ntk0`` when the
        scan is given ``c``) unless ``lr`` is an axis, and ``f0``/``ntk0`` for
        ``model="weights"``. Attributes record the fixed inputs, ``steps``, the model and the
        criteria, and, for the maps run in their own units (normalised and cubic scans), the
        attribute ``lr`` (:data:`~sharpdyn.scan.statistics.MAP_LR`). :func:`learning_rate`
        reads the learning rate of any of them.

    Raises
    ------
    ValueError
        Before any work, for bad axes or options, and for a scan whose result would not fit
        in memory (about :data:`GRID_BYTES_PER_POINT` bytes a point; the limit is the available
        memory or ``SHARPDYN_MAX_BYTES``, see :func:`sharpdyn.validation.check_allocation`).
    """
    fixed = dict(lr=lr, c=c, ntk0=ntk0, f0=f0, y=y, width=width, x=x, param=param, Y=Y, g0=g0, r=r, x0=x0)
    spec = grid_spec(axes, steps=steps, fixed=fixed, model=model, sharpness_every=sharpness_every,
                     criteria=criteria, seed=seed, sigma=sigma, chunk_size=chunk_size, threads=threads, isa=isa)
    check_grid_size(spec, store)
    try:
        import xarray as xr
    except ImportError as exc:  # pragma: no cover - exercised without the extra only
        raise ImportError("scan.grid needs xarray: pip install 'sharpdyn[scan]'") from exc
    from tqdm import tqdm

    wall0 = time.perf_counter()
    spent = {"compute_seconds": 0.0, "store_seconds": 0.0, "computed_points": 0}
    t0 = time.perf_counter()
    zstore = _ZarrStore(store, spec) if store is not None else None
    done = zstore.done() if zstore is not None else np.zeros(spec.n_chunks, dtype=bool)
    spent["store_seconds"] += time.perf_counter() - t0
    if zstore is not None and not done.all():
        left = product(*spec.shape) * int((~done).sum()) // spec.n_chunks
        check_disk(STORE_BYTES_PER_POINT * left, "store", zstore.path,
                   hint="the chunks still to do would not fit; choose a store on a larger disk")
    results: dict[int, dict[str, NDArray[Any]]] = {}
    todo = [k for k in range(spec.n_chunks) if not done[k]]
    row = int(np.prod(spec.shape[1:], dtype=np.int64))

    def finish(k: int, data: dict[str, NDArray[Any]], kernel_seconds: float) -> None:
        spent["compute_seconds"] += kernel_seconds
        r0, r1 = spec.chunk_rows(k)
        spent["computed_points"] += (r1 - r0) * row
        if zstore is not None:
            t = time.perf_counter()
            zstore.write(k, data)
            spent["store_seconds"] += time.perf_counter() - t
        results[k] = data
        if on_chunk is not None:
            on_chunk(k)

    with tqdm(total=spec.n_chunks, initial=spec.n_chunks - len(todo), desc="scan", unit="chunk",
              disable=not progress) as bar:
        if client is None:
            for k in todo:
                finish(k, *_timed_chunk(spec, k))
                bar.update(1)
        else:
            from distributed import as_completed

            futures = client.map(_timed_chunk, [spec] * len(todo), todo, pure=False)
            index = {f.key: k for f, k in zip(futures, todo)}
            for future, (data, kernel_seconds) in as_completed(futures, with_results=True):
                finish(index[future.key], data, kernel_seconds)
                bar.update(1)
    t0 = time.perf_counter()
    for k in range(spec.n_chunks):
        if k not in results:
            results[k] = zstore.read(k)  # type: ignore[union-attr]
    spent["store_seconds"] += time.perf_counter() - t0
    names = [n for n in FIELDS if n in results[0]] + sorted(n for n in results[0] if n not in FIELDS)
    data_vars = {}
    for name in names:
        arr = np.concatenate([results[k][name] for k in range(spec.n_chunks)], axis=0)
        data_vars[name] = (spec.dims, arr)
    ds = xr.Dataset(data_vars, coords={d: np.asarray(cv, dtype=np.float64) for d, cv in zip(spec.dims, spec.coords)})
    ds["regime"].attrs.update(flag_values=list(range(len(_regimes.REGIMES))),
                              flag_meanings=" ".join(_regimes.REGIMES))
    ds.attrs.update({f"fixed_{k}": v for k, v in spec.fixed})
    ds.attrs.update(steps=spec.steps, model=spec.model, normalized=int(spec.normalized),
                    sharpness_every=spec.sharpness_every, criteria=json.dumps(asdict(spec.criteria)),
                    seed=spec.seed, sigma=spec.sigma)
    if spec.normalized or spec.model == "cubic":
        ds.attrs["lr"] = MAP_LR  # the maps' own units: one learning rate for every point
    if zstore is not None:
        t0 = time.perf_counter()
        zstore.finalize(ds)
        spent["store_seconds"] += time.perf_counter() - t0
    if timings is not None:
        timings.update(spent, wall_seconds=time.perf_counter() - wall0)
    return ds


def learning_rate(ds: xarray.Dataset) -> xarray.DataArray | float:
    """The learning rate every point of a :func:`grid` scan ran with, as the scan computed it:
    the variable or coordinate ``lr`` (per point), else the attribute ``lr`` of a map run in
    its own units (:data:`~sharpdyn.scan.statistics.MAP_LR`). Figures and summaries read it
    here instead of deriving it again (e.g. ``learning_rate(ds) * ds["final_sharpness"]``).

    Raises
    ------
    ValueError
        If ``ds`` holds neither (not a dataset of this version of :func:`grid`).
    """
    if "lr" in ds.variables:
        return ds["lr"]
    if "lr" in ds.attrs:
        return float(ds.attrs["lr"])
    raise ValueError("the scan has no learning rate (neither a variable nor an attribute 'lr'); "
                     "make it with sharpdyn.scan.grid")
