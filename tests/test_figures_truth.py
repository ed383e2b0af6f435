"""Figures say the truth: every figure function of sharpdyn passes
:func:`sharpdyn.figures.checks.check_figure` (data inside the axes, reference lines visible and
explained, legend entries drawn, empty panels explained), the check fails on deliberately broken
figures, and the specific lies of issue #12 are gone (each compared with numbers computed here)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

from sharpdyn import chaos, data, mlp, scan, uv
from sharpdyn.figures import chaos as fchaos
from sharpdyn.figures import mlp as fmlp
from sharpdyn.figures import scan as fscan
from sharpdyn.figures import uv as fuv
from sharpdyn.figures.checks import add_note, check_figure, figure_problems, mark_clipped
from sharpdyn.spectra import power_spectrum

# ------------------------------------------------------------------ the check itself can fail


def _line_figure():
    fig = Figure()
    ax = fig.subplots()
    line, = ax.plot([0, 1, 2], [0.0, 1.0, 5.0], label="data")
    return fig, ax, line


def test_check_passes_a_plain_figure_and_fails_data_outside_the_view():
    fig, ax, line = _line_figure()
    check_figure(fig)
    ax.set_ylim(0, 2)  # the point (2, 5) is cut off, and nothing says so
    problems = figure_problems(fig)
    assert len(problems) == 1 and "1 of 3 points outside the view" in problems[0], problems
    with pytest.raises(AssertionError, match="outside the view"):
        check_figure(fig)
    mark_clipped(ax, [line], "↑ the last point is at 5")  # said in the figure: allowed
    check_figure(fig)


def test_check_fails_a_clipped_mark_without_its_note():
    fig, ax, line = _line_figure()
    ax.set_ylim(0, 2)
    line.set_gid("sharpdyn:clipped")  # marked, but no note in the axes
    assert figure_problems(fig)


def test_check_fails_reference_lines_out_of_view_or_unexplained():
    fig, ax, _ = _line_figure()
    ax.axhline(23.9, color="C0", ls="--")  # the mlp_training.png bug: the edge 2/eta above the view
    ax.set_ylim(0, 6)
    ax.set_title("dashed: 2/η")
    problems = figure_problems(fig)
    assert len(problems) == 1 and "reference line" in problems[0] and "outside the view" in problems[0], problems
    fig, ax, _ = _line_figure()
    ax.axvline(1.5, color="gray", ls=":")  # the spectra_cubic.png bug: an unlabelled guide
    problems = figure_problems(fig)
    assert len(problems) == 1 and "not explained" in problems[0], problems
    ax.annotate("1/2", (1.5, 1.0), xycoords=("data", "axes fraction"), va="top")  # a text on the line explains it
    check_figure(fig)
    fig, ax, _ = _line_figure()
    ax.axvline(1.5, color="gray", ls=":", label="guide")
    ax.legend()
    check_figure(fig)


def test_check_fails_empty_axes_without_an_explanation():
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot([0, 1], [0, 1])
    problems = figure_problems(fig)
    assert len(problems) == 1 and "nothing is drawn" in problems[0], problems
    add_note(ax2, "no spectrum: the run is too short", loc="center")
    check_figure(fig)


def test_check_fails_a_legend_entry_with_nothing_in_view_and_a_note_outside_its_axes():
    fig, ax, _ = _line_figure()
    ax.plot([10, 11], [10, 11], label="far away")
    ax.set(xlim=(0, 2), ylim=(0, 5))
    ax.legend()
    problems = figure_problems(fig)
    assert any("the legend names 'far away'" in p for p in problems), problems
    fig, ax, _ = _line_figure()
    add_note(ax, "a note far too long to fit inside the axes of a small figure like this one, " * 3)
    assert any("runs out of the axes" in p for p in figure_problems(fig))


def test_check_sees_images_meshes_and_scatter():
    fig = Figure()
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.imshow(np.ones((3, 3)), extent=(0, 3, 0, 3))
    ax1.set_xlim(0, 2)
    ax2.pcolormesh(np.arange(4.0), np.arange(3.0), np.full((2, 3), np.nan))  # all NaN: shows nothing
    ax3.scatter([0.0, 10.0], [0.0, 0.0])
    ax3.set_xlim(-1, 1)
    problems = figure_problems(fig)
    assert len(problems) == 3, problems
    assert "AxesImage" in problems[0] and "nothing is drawn" in problems[1] and "PathCollection" in problems[2]


# --------------------------------------------------------------- every figure function passes


@pytest.fixture(scope="module")
def uv_runs():
    width = 4096
    u0, v0 = uv.init(width, seed=0)
    ntk0 = float(uv.train(u0, v0, lr=1.0, steps=1).ntk[0])
    runs = {name: uv.train(u0, v0, lr=c / ntk0, steps=150) for name, c in
            (("lazy", 1.5), ("catapult", 3.0), ("divergence", 4.5))}
    lr_e, width_e = 0.5, 64
    y_e = 1.1 / (lr_e / np.sqrt(width_e))
    runs["eos"] = uv.iterate(0.2 * y_e, 1.3 / lr_e, lr=lr_e, width=width_e, y=y_e, steps=150)
    return runs, ntk0


def test_uv_trajectories_pass_and_name_what_leaves_the_view(uv_runs):
    runs, _ = uv_runs
    fig = fuv.plot_trajectories(list(runs.values()), list(runs))
    check_figure(fig)
    ax_loss, ax_f, ax_s = fig.axes
    # the diverging run leaves the loss panel at the top, the converged runs below 1e-16
    notes = [t.get_text() for t in ax_loss.texts]
    diverged_at = int(runs["divergence"].diverged_at)
    assert any(f"diverging at step {diverged_at}" in n for n in notes), notes
    converged_below = sum(np.nanmin(np.maximum(tr.loss, 1e-300)) < 1e-16 for tr in runs.values())
    assert any(f"{converged_below} runs go below 1e-16" in n for n in notes), notes
    assert [t.get_text() for t in ax_f.get_legend().get_texts()] == ["target y"]


@pytest.mark.parametrize("Y", [0.5, 1.1])
def test_flow_zero_loss_line_is_stable_only_where_reachable_and_below_2(Y):
    lr, width = 0.5, 64
    y = Y * np.sqrt(width) / lr  # SP, x = 1: sqrt(kappa) = 1/sqrt(n), so Y = lr y / sqrt(n)
    fig = fuv.plot_flow(lr=lr, width=width, y=y, z_range=(0.0, 5.0))
    check_figure(fig)
    ax = fig.axes[0]
    stable = [ln for ln in ax.lines if ln.get_label() == "zero-loss line, stable"]
    unstable = [ln for ln in ax.lines if ln.get_label().startswith("zero-loss line, unstable")]
    z_reachable = 2.0 * Y  # lr * ntk >= 2 lr sqrt(kappa) |f| at f = y
    if z_reachable < 2.0:
        assert len(stable) == 1
        np.testing.assert_allclose(sorted(stable[0].get_ydata()), [z_reachable, 2.0], rtol=1e-12)
        np.testing.assert_allclose(sorted(unstable[0].get_ydata()), [2.0, 5.0])
    else:  # Y > 1: no part of the zero-loss line is stable
        assert stable == []
        np.testing.assert_allclose(sorted(unstable[0].get_ydata()), [z_reachable, 5.0], rtol=1e-12)


def test_flow_holds_the_catapult_trajectory_or_says_it_leaves(uv_runs):
    runs, ntk0 = uv_runs
    tr = runs["catapult"]
    fig = fuv.plot_flow(lr=3.0 / ntk0, width=4096, y=1.0, trajectory=tr, z_range=(0.0, 5.0))
    check_figure(fig)
    ax = fig.axes[0]
    f_peak = float(np.nanmax(np.abs(tr.f - 1.0)))
    assert f_peak > 15.0  # the catapult's excursion that the demo's (-15, 15) view cut off
    lo, hi = ax.get_xlim()
    assert lo <= 1.0 - f_peak and hi >= 1.0 + f_peak
    fig = fuv.plot_flow(lr=3.0 / ntk0, width=4096, y=1.0, trajectory=tr, z_range=(0.0, 5.0), f_range=(-15, 15))
    check_figure(fig)  # cut by request, and the figure says so
    assert any("GD trajectory leaves the view" in t.get_text() for t in fig.axes[0].texts)


@pytest.fixture(scope="module")
def cubic_orbits():
    r = np.linspace(1.8, 2.45, 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=400, n_keep=64)
        lam = chaos.lyapunov_spectrum("cubic", r, x0=0.3, n_transient=400, n_steps=300)
    return d, lam


def test_orbit_diagram_with_lyapunov_and_doubling_passes(cubic_orbits):
    d, lam = cubic_orbits
    fig = fchaos.plot_orbit_diagram(d, lyapunov=lam, doubling=chaos.doubling_points("cubic", 6).params)
    check_figure(fig)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["period-doubling points"]


def test_uv_lr_orbit_diagram_marks_divergence_and_the_edge():
    """`sharpdyn orbit --system uv-lr`'s default range: beyond lr ~ 1.69 every run diverges."""
    from sharpdyn.uv import DivergenceWarning

    lr = np.linspace(0.8, 2.0, 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        d = chaos.uv_orbit_diagram(lr, width=64.0, y=8.0, f0=7.2, ntk0=2.2, n_transient=400, n_keep=32,
                                   observable="sharpness")
    assert d.diverged.sum() > 20  # a quarter of the range
    fig = fchaos.plot_orbit_diagram(d)
    check_figure(fig)
    ax = fig.axes[0]
    shade = [c for c in ax.collections if str(c.get_label()).startswith("diverged")]
    assert len(shade) == 1 and f"{int(d.diverged.sum())} of {lr.size}" in shade[0].get_label()
    xs = np.concatenate([p.vertices[:, 0] for p in shade[0].get_paths()])
    first = lr[d.diverged].min()
    assert xs.min() >= lr[~d.diverged].max() - 1e-12 and xs.max() == pytest.approx(lr.max())
    assert first <= xs.min() + (lr[1] - lr[0])
    edges = [ln for ln in ax.lines if ln.get_label().startswith("η · sharpness = 2")]
    assert len(edges) == 1 and edges[0].get_ydata()[0] == 2.0


def test_orbit_diagram_of_diverged_runs_and_log_values_pass():
    from sharpdyn.uv import DivergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        d = chaos.uv_orbit_diagram(np.linspace(1.8, 2.0, 10), width=64.0, y=8.0, f0=7.2, ntk0=2.2, n_transient=100,
                                   n_keep=8, observable="sharpness")
        loss = chaos.uv_orbit_diagram(np.linspace(0.8, 1.5, 40), width=64.0, y=8.0, f0=7.2, ntk0=2.2,
                                      n_transient=200, n_keep=16, observable="loss")
    assert d.diverged.all()
    check_figure(fchaos.plot_orbit_diagram(d))
    check_figure(fchaos.plot_orbit_diagram(loss, log_values=True))


def test_power_spectra_mark_the_period_two_peak_label_guides_and_name_the_observable():
    spectra = []
    for r in (2.2, 2.27, 2.4):  # period 2, period 4, chaos
        d = chaos.orbit_diagram("cubic", [r], x0=0.3, n_transient=3000, n_keep=1024, observable="sharpness")
        spectra.append(power_spectrum(d.states[0]))
    fig = fchaos.plot_power_spectra(spectra, ["period 2", "period 4", "chaos"], observable="η · L''")
    check_figure(fig)
    assert "η · L''" in fig.get_suptitle()
    ax = fig.axes[0]
    assert ax.get_xlim()[1] > 0.5 + 0.02  # the Nyquist peak is not on the edge of the axes
    peaks = [ln for ln in ax.lines if ln.get_label().startswith("highest peaks")]
    assert len(peaks) == 1 and peaks[0].get_xdata()[0] == 0.5
    assert {t.get_text() for t in ax.texts} >= {"1/2 (Nyquist)", "1/4", "1/8"}


def test_mlp_figures_show_every_edge():
    X, Y = data.synthetic(48, d=6, n_out=1, seed=0)
    spec = mlp.MLPSpec((6, 12, 1), activation="tanh", param="sp")
    runs = mlp.train(spec, X, Y, c=[0.2, 1.0, 3.0], steps=60, seeds=[0], sharpness_every=10)
    fig = fmlp.plot_training(runs)
    check_figure(fig)
    lo, hi = fig.axes[1].get_ylim()
    edges = 2.0 / runs.lr[0, :, 0]
    assert edges.max() / edges.min() > 10  # 2/eta of c = 0.2 is far above the others
    assert np.all((edges > lo) & (edges < hi))
    check_figure(fmlp.plot_phase_diagram(runs))


def test_scan_figures_pass():
    ds = scan.grid({"c": np.linspace(0.2, 5, 24), "Y": np.linspace(0.05, 1.6, 16)}, steps=150, progress=False)
    fig = fscan.plot_phase_diagram(ds)
    check_figure(fig)
    assert {"c = 2", "c = 4", "Y = 1"} <= {t.get_text() for t in fig.axes[0].texts}
    for quantity in ("lr_final_sharpness", "peak_loss_ratio", "time_to_converge", "max_sharpness"):
        check_figure(fscan.plot_heatmap(ds, quantity, log=quantity != "lr_final_sharpness"))
    cubic = scan.grid({"r": np.linspace(1.5, 3.2, 24), "x0": np.linspace(-1.2, 1.2, 10)}, model="cubic", steps=150,
                      progress=False)
    fig = fscan.plot_phase_diagram(cubic)
    check_figure(fig)
    assert {"r = 2", "r = 3"} <= {t.get_text() for t in fig.axes[0].texts}
    check_figure(fscan.plot_regime_map(np.asarray(ds["regime"].values[:, 0]), {"c": ds["c"].values}))


def test_training_figure_explains_an_empty_spectrum_panel():
    import torch

    from sharpdyn.figures.training import plot_training
    from sharpdyn.torch import models, train

    import torch_reference  # noqa: F401  (one torch thread)

    torch.manual_seed(0)
    X = torch.randn(32, 5, dtype=torch.float64)
    Y = torch.randn(32, 1, dtype=torch.float64)
    net = models.fcn(5, 1, depth=2, width=8, activation="tanh").double()
    short = train(net, (X, Y), lr=0.05, steps=10, sharpness_every=5)
    fig = plot_training([short])
    check_figure(fig)
    ax_p = fig.axes[3]
    assert len(ax_p.lines) == 0 and any("no spectrum" in t.get_text() for t in ax_p.texts)
    longer = train(net, (X, Y), lr=0.05, steps=40, sharpness_every=2)
    fig = plot_training([longer])
    check_figure(fig)
    assert len(fig.axes[3].lines) == 1


# ------------------------------------------------ the figures the command line writes pass too


@pytest.fixture
def checked_savefig(monkeypatch):
    """Every Figure.savefig first runs check_figure; returns the names of the files checked."""
    saved: list[str] = []
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        check_figure(self)
        saved.append(str(getattr(fname, "name", fname)).rsplit("/", 1)[-1])
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def test_demo_figures_pass_the_check(tmp_path, checked_savefig):
    from click.testing import CliRunner

    from sharpdyn.cli import main

    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--only", "uv", "--only", "chaos", "--only",
                                    "mlp"])
    assert res.exit_code == 0, res.output
    assert sorted(checked_savefig) == sorted(["uv_trajectories.png", "uv_flow_eos.png", "uv_flow_catapult.png",
                                              "orbit_cubic.png", "orbit_uv_lr.png", "spectra_cubic.png",
                                              "mlp_training.png"])


def test_orbit_and_lyapunov_command_figures_pass_the_check(tmp_path, checked_savefig):
    from click.testing import CliRunner

    from sharpdyn.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["orbit", "--system", "uv-lr", "--num", "200", "--transient", "500", "--keep", "32",
                               "--out", str(tmp_path)])  # the default range 0.8..2.0: lr > ~1.69 diverges
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["lyapunov", "--num", "120", "--transient", "200", "--steps", "300", "--doublings", "6",
                               "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert checked_savefig == ["orbit_uv_lr_sharpness.png", "lyapunov_cubic.png", "spectra_cubic.png"]


def test_train_command_figure_of_a_short_run_passes_the_check(tmp_path, checked_savefig):
    from click.testing import CliRunner

    from sharpdyn.cli import main

    import torch_reference  # noqa: F401  (one torch thread)

    res = CliRunner().invoke(main, ["train", "--n", "60", "--width", "8", "--steps", "12", "--lr", "0.01",
                                    "--sharpness-every", "4", "--dtype", "float64", "--device", "cpu",
                                    "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert checked_savefig == ["training.png"]
