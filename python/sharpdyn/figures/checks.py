"""Checks that a figure says the truth about its data, and helpers that let a figure say
when it deliberately shows less than everything.

:func:`figure_problems` inspects a drawn :class:`matplotlib.figure.Figure`, axes by axes:

1. every data artist (lines, scatter points, meshes, filled regions, images, patches) lies
   inside the axes' view, unless it was marked with :func:`mark_clipped`, which also writes
   a note in the axes saying what leaves the view;
2. every reference line (``axhline`` / ``axvline``) is inside the view and explained: by a
   legend entry (its own, or one drawn in the same colour and line style), by a text placed
   on it, or by the axes' title or labels naming its style ("dashed: 2/η");
3. everything a legend names is drawn somewhere in the view;
4. an axes with nothing in view carries a text that explains why (:func:`add_note`).

:func:`check_figure` raises ``AssertionError`` listing the problems. Every figure function of
:mod:`sharpdyn.figures` passes it (tests/test_figures_truth.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import Collection, PathCollection, QuadMesh
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.quiver import Quiver
from matplotlib.text import Text
from numpy.typing import ArrayLike

__all__ = ["CLIPPED_GID", "NOTE_GID", "add_note", "check_figure", "figure_problems", "mark_clipped"]

CLIPPED_GID = "sharpdyn:clipped"
"""Group id of artists allowed to leave the view (set by :func:`mark_clipped`)."""
NOTE_GID = "sharpdyn:note"
"""Group id of the note text of an axes (written by :func:`add_note`)."""

_NOTE_PLACES = {
    "lower left": (0.01, 0.015, "left", "bottom"),
    "lower right": (0.99, 0.015, "right", "bottom"),
    "upper left": (0.01, 0.985, "left", "top"),
    "upper right": (0.99, 0.985, "right", "top"),
    "center": (0.5, 0.5, "center", "center"),
}
_STYLE_WORDS = {"--": ("dashed",), ":": ("dotted",), "-.": ("dash-dot", "dash-dotted"), "-": ("solid",)}


def add_note(ax: Axes, text: str, *, loc: str = "lower left", fontsize: float = 7.0) -> Text:
    """Write ``text`` in the axes' note box (one per axes, created at ``loc`` in axes
    fraction; later calls append a line). Returns the note's ``Text``."""
    for t in ax.texts:
        if t.get_gid() == NOTE_GID:
            t.set_text(t.get_text() + "\n" + text)
            return t
    if loc not in _NOTE_PLACES:
        raise ValueError(f"loc must be one of {sorted(_NOTE_PLACES)}, got {loc!r}")
    x, y, ha, va = _NOTE_PLACES[loc]
    note = ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=fontsize, gid=NOTE_GID, zorder=6,
                   bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "0.6", "alpha": 0.85, "lw": 0.5})
    note.set_in_layout(False)  # a note lives inside its axes; it must not resize them
    return note


def mark_clipped(ax: Axes, artists: Iterable[Any], note: str, *, loc: str = "lower left") -> None:
    """Declare that ``artists`` deliberately leave the view of ``ax`` and say so in the axes'
    note (``note``: what leaves the view and where)."""
    for artist in artists:
        artist.set_gid(CLIPPED_GID)
    add_note(ax, note, loc=loc)


def check_figure(fig: Figure, *, tolerance_px: float = 1.5) -> None:
    """Raise ``AssertionError`` listing every problem :func:`figure_problems` finds."""
    problems = figure_problems(fig, tolerance_px=tolerance_px)
    if problems:
        raise AssertionError("the figure does not say the truth:\n- " + "\n- ".join(problems))


def figure_problems(fig: Figure, *, tolerance_px: float = 1.5) -> list[str]:
    """Problems of a figure (empty list: none). Draws the figure (no output) so that limits
    and layout are final; ``tolerance_px`` is the slack, in pixels, at the axes' edges."""
    fig.draw_without_rendering()
    problems: list[str] = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison or hasattr(ax, "_colorbar"):
            continue
        problems.extend(_axes_problems(ax, f"axes {i} ({_axes_name(ax)})", tolerance_px))
    return problems


# ---------------------------------------------------------------------------- internals


def _axes_name(ax: Axes) -> str:
    return ax.get_title() or ax.get_title(loc="left") or ax.get_ylabel() or "untitled"


def _axes_problems(ax: Axes, name: str, tol: float) -> list[str]:
    problems = []
    x0, y0, x1, y1 = ax.bbox.extents
    box = (x0 - tol, y0 - tol, x1 + tol, y1 + tol)
    noted = any(t.get_gid() == NOTE_GID and t.get_visible() and t.get_text().strip() for t in ax.texts)
    in_view_labels: set[str] = set()
    drawn_labels: set[str] = set()
    anything = False
    for artist, pts, has_values in _data_artists(ax):
        label = str(artist.get_label())
        drawn_labels.add(label)
        if pts.shape[0] == 0:
            continue
        inside = (pts[:, 0] >= box[0]) & (pts[:, 0] <= box[2]) & (pts[:, 1] >= box[1]) & (pts[:, 1] <= box[3])
        if inside.any():
            in_view_labels.add(label)
            anything = anything or has_values
        if not inside.all() and not (artist.get_gid() == CLIPPED_GID and noted):
            what = "reference line" if _is_reference(artist, ax) else type(artist).__name__
            problems.append(f"{name}: {what} {label!r} has {int(np.count_nonzero(~inside))} of {inside.size} "
                            f"points outside the view{_where(artist, ax)}; widen the limits or mark_clipped() it")
    for line in ax.lines:
        if line.get_visible() and _is_reference(line, ax) and not _explained(line, ax, tol):
            problems.append(f"{name}: reference line {line.get_label()!r} at {_ref_value(line):g} is not explained "
                            "(no legend entry, no text on it, no title naming its style)")
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        for text in legend.get_texts():
            label = text.get_text()
            if label in drawn_labels and label not in in_view_labels:
                problems.append(f"{name}: the legend names {label!r} but nothing of it is in the view")
    for t in ax.texts:
        if t.get_gid() == NOTE_GID and t.get_visible():
            ext = t.get_window_extent()
            if ext.x0 < box[0] or ext.x1 > box[2] or ext.y0 < box[1] or ext.y1 > box[3]:
                problems.append(f"{name}: the note {t.get_text()!r} runs out of the axes; shorten it")
    if not anything and not any(t.get_visible() and t.get_text().strip() for t in ax.texts):
        problems.append(f"{name}: nothing is drawn and no text in the axes says why")
    return problems


def _where(artist: Any, ax: Axes) -> str:
    if isinstance(artist, Line2D) and artist.get_transform() is ax.transData:
        xy = np.asarray(artist.get_xydata(), dtype=float)
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if xy.size:
            return (f" (data x in [{xy[:, 0].min():.4g}, {xy[:, 0].max():.4g}], y in [{xy[:, 1].min():.4g}, "
                    f"{xy[:, 1].max():.4g}]; view x in [{ax.get_xlim()[0]:.4g}, {ax.get_xlim()[1]:.4g}], "
                    f"y in [{ax.get_ylim()[0]:.4g}, {ax.get_ylim()[1]:.4g}])")
    if _is_reference(artist, ax):
        return f" (at {_ref_value(artist):g}; view x in {tuple(np.round(ax.get_xlim(), 4))}, " \
               f"y in {tuple(np.round(ax.get_ylim(), 4))})"
    return ""


def _is_reference(artist: Any, ax: Axes) -> bool:
    if not isinstance(artist, Line2D):
        return False
    t = artist.get_transform()
    return t is ax.get_xaxis_transform() or t is ax.get_yaxis_transform()


def _ref_value(line: Line2D) -> float:
    xy = np.asarray(line.get_xydata(), dtype=float)
    assert line.axes is not None, "a reference line belongs to an axes"
    vertical = line.get_transform() is line.axes.get_xaxis_transform()
    return float(xy[0, 0] if vertical else xy[0, 1])


def _explained(line: Line2D, ax: Axes, tol: float) -> bool:
    style = line.get_linestyle()
    color = np.asarray(_rgba(line.get_color()))
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        texts = [t.get_text() for t in legend.get_texts()]
        if line.get_label() in texts:
            return True
        for handle, text in zip(legend.legend_handles, texts):
            if (isinstance(handle, Line2D) and text.strip() and handle.get_linestyle() == style
                    and np.allclose(_rgba(handle.get_color())[:3], color[:3])):
                return True
    words = " ".join([ax.get_title(), ax.get_title(loc="left"), ax.get_title(loc="right"), ax.get_xlabel(),
                      ax.get_ylabel()]).lower()
    if isinstance(style, str) and any(w in words for w in _STYLE_WORDS.get(style, ())):
        return True
    pts = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
    vertical = line.get_transform() is ax.get_xaxis_transform()
    at = float(pts[0, 0] if vertical else pts[0, 1])
    slack = 30.0
    for t in ax.texts:
        if not (t.get_visible() and t.get_text().strip()):
            continue
        ext = t.get_window_extent()
        lo, hi = (ext.x0, ext.x1) if vertical else (ext.y0, ext.y1)
        if lo - slack <= at <= hi + slack:
            return True
    return False


def _rgba(color: Any) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(color)


def _data_artists(ax: Axes) -> Iterator[tuple[Any, np.ndarray, bool]]:
    """(artist, finite display points (n, 2), whether it shows data values) per visible data
    artist of ``ax``."""
    logx, logy = ax.get_xscale() == "log", ax.get_yscale() == "log"

    def display(artist: Any, points: ArrayLike, transform: Any) -> np.ndarray:
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        ok = np.all(np.isfinite(xy), axis=1)
        if transform is ax.transData:  # a log axis draws no non-positive value
            if logx:
                ok &= xy[:, 0] > 0
            if logy:
                ok &= xy[:, 1] > 0
        if not ok.any():
            return np.empty((0, 2))
        pts = transform.transform(xy[ok])
        return pts[np.all(np.isfinite(pts), axis=1)]

    for line in ax.lines:
        if line.get_visible():
            yield line, display(line, line.get_xydata(), line.get_transform()), True
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, (PathCollection, Quiver)):
            pts = display(coll, coll.get_offsets(), coll.get_offset_transform())
        elif isinstance(coll, QuadMesh):
            pts = display(coll, coll.get_coordinates(), coll.get_transform())
        else:
            paths = coll.get_paths()
            verts = np.concatenate([p.vertices for p in paths]) if len(paths) else np.empty((0, 2))
            pts = display(coll, verts, coll.get_transform())
        yield coll, pts, _has_values(coll)
    for patch in ax.patches:
        if patch.get_visible():
            verts = np.asarray(patch.get_verts(), dtype=float).reshape(-1, 2)
            yield patch, verts[np.all(np.isfinite(verts), axis=1)], True
    for image in ax.images:
        if image.get_visible() and isinstance(image, AxesImage):
            left, right, bottom, top = image.get_extent()
            corners = np.array([[left, bottom], [right, top]])
            yield image, display(image, corners, image.get_transform()), _has_values(image)


def _has_values(artist: Collection | AxesImage) -> bool:
    """Whether a mesh / image shows any value (an all-masked or all-NaN one shows nothing)."""
    values = artist.get_array()
    if values is None:
        return True
    values = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
    return bool(np.ma.count(values) > 0)
