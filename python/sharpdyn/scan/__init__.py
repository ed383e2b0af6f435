"""Phase scans: millions of independent runs, kept as per-point statistics and regime labels.

:func:`uv` runs the exact function-space map of :mod:`sharpdyn.uv` from every point of
broadcast arrays ``(lr, ntk0, f0)`` (plus ``width``, ``x``, ``y``) in a compiled, blocked,
SIMD and OpenMP kernel that keeps only per-point statistics, never the orbit, and labels
each point with the regimes of :mod:`sharpdyn.regimes`. The arithmetic is that of
:func:`sharpdyn.uv.iterate` operation for operation, so a scan point's regime, final state
and divergence step equal those of a single recorded run from the same inputs, bit for
bit, whatever the thread count, chunking or instruction set.

:func:`cubic` scans the cubic map of :mod:`sharpdyn.cubic` (GD on a sub-quadratic loss) the
same way, over ``(r, x0)``; :func:`uv_normalized` the normalised ``(c, Y)`` plane.

:func:`grid` builds labelled scans over named axes on top of :func:`uv`, with chunking,
progress bars, resumable Zarr stores and Dask clusters.

Modules, each importing only those after it:

- :mod:`sharpdyn.scan.grids` -- labelled grids, Zarr stores, resume, Dask (:func:`grid`);
- :mod:`sharpdyn.scan.points` -- point-wise runs (:func:`uv`, :func:`uv_normalized`,
  :func:`cubic`) and their results (:class:`UVScan`, :class:`CubicScan`);
- :mod:`sharpdyn.scan.statistics` -- the per-point statistics and labels of kernel output
  and of recorded runs (:class:`ScanStatistics`).

Example::

    import numpy as np
    from sharpdyn import scan

    c = np.array([1.0, 3.0, 4.5])
    res = scan.uv(c, 1.0, 0.0, width=2**20, y=1.0, steps=2000)  # lr = c / ntk0 with ntk0 = 1
    res.regime_names  # ['lazy', 'catapult', 'divergence']
"""

from __future__ import annotations

from ..simd import ISAS, available_isas, default_isa
from .grids import (
    CUBIC_AXES,
    FIELDS,
    GRID_BYTES_PER_POINT,
    NORMALIZED_AXES,
    PHYSICAL_AXES,
    STORE_BYTES_PER_POINT,
    GridSpec,
    check_grid_size,
    compute_chunk,
    grid,
    grid_spec,
    learning_rate,
)
from .points import SCAN_BYTES_PER_POINT, CubicScan, UVScan, check_scan_size, cubic, uv, uv_normalized
from .statistics import MAP_LR, ScanStatistics

__all__ = [
    "CUBIC_AXES", "FIELDS", "GRID_BYTES_PER_POINT", "ISAS", "MAP_LR", "NORMALIZED_AXES", "PHYSICAL_AXES",
    "SCAN_BYTES_PER_POINT", "STORE_BYTES_PER_POINT", "CubicScan", "GridSpec", "ScanStatistics", "UVScan",
    "available_isas", "check_grid_size", "check_scan_size", "compute_chunk", "cubic", "default_isa", "grid",
    "grid_spec", "learning_rate", "uv", "uv_normalized",
]
