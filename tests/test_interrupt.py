"""Ctrl-C stops every long compiled call within 2 s (issue #12), without changing results.

Each interrupt test starts a fresh interpreter that prints "ready" and then makes a call that
would run for minutes, sends it SIGINT 0.5 s later and requires the process to end within 2 s
with a KeyboardInterrupt (mlp.train instead returns the finished steps). Before the fix the
compiled loops ignored SIGINT and these processes ran until killed at the timeout.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from sharpdyn import chaos, mlp, uv

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT cannot be sent to a child on Windows")

DEADLINE = 2.0  # seconds from SIGINT to the end of the process (the acceptance bound)
HANG = 60.0  # a process still running this long after SIGINT ignored it (killed, test fails)


class Child:
    """A Python child process whose stdout and stderr are collected by reader threads."""

    def __init__(self, code: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, buf), daemon=True)
                         for s, buf in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _read(stream, buf: list[str]) -> None:
        for chunk in iter(lambda: stream.read(1), ""):
            buf.append(chunk)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for r in self._readers:
            r.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def wait_for(self, marker: str, stream: str = "stdout", timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout
        while marker not in getattr(self, stream):
            if self.proc.poll() is not None or time.monotonic() > end:
                self.close()
                pytest.fail(f"child never printed {marker!r}:\n{self.stdout}\n{self.stderr}")
            time.sleep(0.01)

    def interrupt(self, after: float = 0.5) -> float:
        """SIGINT `after` seconds from now; returns the seconds from the signal to the exit."""
        time.sleep(after)
        if self.proc.poll() is not None:
            self.close()
            pytest.fail(f"the call ended before the signal:\n{self.stdout}\n{self.stderr}")
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"still running {HANG:.0f} s after SIGINT (killed)")
        elapsed = time.monotonic() - t0
        self.close()
        return elapsed


def _interrupt_call(call: str, setup: str = "") -> tuple[float, Child]:
    code = "import numpy as np\nimport sharpdyn\nfrom sharpdyn import chaos, mlp, scan, uv\n"
    code += textwrap.dedent(setup) + "\nprint('ready', flush=True)\n" + textwrap.dedent(call)
    child = Child(code)
    child.wait_for("ready")
    return child.interrupt(), child


# Calls that would run for minutes (each far beyond 20 s), with small outputs.
LONG_CALLS = {
    "uv.function_map": "uv.function_map(0.0, 1.0, lr=np.linspace(0.1, 1.9, 4), width=1.0, steps=10**13)",
    # the caller's thread finishes its share (two points diverge at once) while the other runs on
    "uv.function_map, caller idle": ("uv.function_map(0.0, 1.0, lr=[50.0, 50.0, 0.5, 0.5], width=1.0, "
                                     "steps=10**13, threads=2)"),
    "uv.normalized_map": "uv.normalized_map(-0.5, 1.0, Y=np.linspace(0.1, 0.5, 8), steps=10**13)",
    "uv.train": "u, v = uv.init(10**5, batch=2, seed=0)\nuv.train(u, v, lr=1e-6, steps=10**5)",
    "chaos.orbit_diagram cubic": ("chaos.orbit_diagram('cubic', np.linspace(2.3, 3.0, 256), x0=0.3, "
                                  "n_transient=10**13, n_keep=10)"),
    "chaos.orbit_diagram cubic, continuation": ("chaos.orbit_diagram('cubic', np.linspace(2.3, 3.0, 4), x0=0.3, "
                                                "n_transient=10**13, n_keep=10, continuation=True)"),
    "chaos.orbit_diagram uv": ("chaos.orbit_diagram('uv', np.linspace(0.8, 2.0, 256), x0=(0.3, 2.5), "
                               "n_transient=10**13, n_keep=10)"),
    "chaos.lyapunov cubic": ("chaos.lyapunov('cubic', np.linspace(2.3, 3.0, 256), x0=0.3, n_transient=10, "
                             "n_steps=10**13)"),
    "chaos.lyapunov uv": ("chaos.lyapunov('uv', np.linspace(0.8, 2.0, 64), x0=(0.3, 2.5), n_transient=10, "
                          "n_steps=10**13)"),
    "chaos.period cubic": ("chaos.period('cubic', np.linspace(2.3, 3.0, 256), x0=0.3, n_transient=10**13, "
                           "max_period=64)"),
    "chaos.period uv": ("chaos.period('uv', np.linspace(0.8, 2.0, 256), x0=(0.3, 2.5), n_transient=10**13, "
                        "max_period=64)"),
    "scan.uv": "scan.uv(np.linspace(0.1, 1.9, 256), 1.0, 0.0, width=1.0, steps=10**13)",
    "scan.uv_normalized": "scan.uv_normalized(np.linspace(0.5, 1.9, 256), 0.5, steps=10**13)",
    "scan.cubic": "scan.cubic(np.linspace(1.5, 2.0, 256), 0.3, steps=10**13)",
}


@pytest.mark.parametrize("name", list(LONG_CALLS))
def test_ctrl_c_stops_a_long_call_within_two_seconds(name):
    elapsed, child = _interrupt_call(LONG_CALLS[name])
    assert "KeyboardInterrupt" in child.stderr, child.stderr
    assert elapsed <= DEADLINE, f"{name}: {elapsed:.2f} s from SIGINT to exit"


def test_ctrl_c_returns_the_finished_steps_of_mlp_training():
    call = """
        runs = mlp.train(mlp.MLPSpec((8, 32, 2)), X, Y, lr=[0.02, 0.05, 0.1, 0.2], steps=200_000,
                         sharpness_every=10)
        assert runs.interrupted
        for w, r, s in np.ndindex(runs.interrupted_at.shape):
            t = int(runs.interrupted_at[w, r, s])
            loss = runs.loss[w, r, s]
            assert 0 <= t < 200_000 and not runs.diverged[w, r, s]
            assert np.all(np.isfinite(loss[:t])) and np.all(np.isnan(loss[t:]))
            k = -(-t // 10)  # samples at steps < t
            assert np.all(np.isfinite(runs.sharpness[w, r, s, :k])) and np.all(np.isnan(runs.sharpness[w, r, s, k:]))
        print("interrupted_at", runs.interrupted_at.ravel().tolist(), flush=True)
        print("OK", flush=True)
    """
    setup = """
        rng = np.random.default_rng(0)
        X, Y = rng.standard_normal((64, 8)), rng.standard_normal((64, 2))
    """
    elapsed, child = _interrupt_call(call, setup)
    assert child.proc.returncode == 0, child.stderr
    assert "OK" in child.stdout, child.stdout + child.stderr
    stopped = [int(v) for v in child.stdout.split("interrupted_at [")[1].split("]")[0].split(",")]
    assert max(stopped) > 0  # 0.5 s of training finished some steps
    assert elapsed <= DEADLINE


def test_interrupted_mlp_training_keeps_exactly_the_uninterrupted_prefix():
    """The finished steps of an interrupted run are those of a run that was not interrupted,
    and its parameters are the ones after `interrupted_at` updates."""
    setup = """
        rng = np.random.default_rng(0)
        X, Y = rng.standard_normal((64, 8)), rng.standard_normal((64, 2))
    """
    call = """
        runs = mlp.train(mlp.MLPSpec((8, 32, 2)), X, Y, lr=0.05, steps=200_000, sharpness_every=10, threads=1)
        np.savez(OUT, loss=runs.loss, at=runs.interrupted_at, params=runs.params[0])
        print("saved", flush=True)
    """
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "partial.npz"
        elapsed, child = _interrupt_call(call, textwrap.dedent(setup) + f"OUT = {str(out)!r}\n")
        assert child.proc.returncode == 0, child.stderr
        with np.load(out) as d:
            loss, at, params = d["loss"][0, 0, 0], int(d["at"][0, 0, 0]), d["params"][0, 0]
    assert 0 < at < 200_000 and elapsed <= DEADLINE
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 8)), rng.standard_normal((64, 2))
    spec = mlp.MLPSpec((8, 32, 2))
    n = min(at, 300)
    # independent of the training loop: plain GD through MLP.loss / MLP.gradient
    p = mlp.init_params(spec, 0)
    expected = []
    for _ in range(n):
        net = mlp.MLP.from_spec(spec, params=p)
        expected.append(net.loss(X, Y))
        p = p - 0.05 * net.gradient(X, Y)
    np.testing.assert_array_equal(loss[:n], expected)
    if at <= 300:
        np.testing.assert_array_equal(params, p)
    else:  # the final parameters belong to step `at`: one more GD step from them matches the run
        ref = mlp.train(spec, X, Y, lr=0.05, steps=at, sharpness_every=10, threads=1)
        np.testing.assert_array_equal(ref.loss[0, 0, 0, :at], loss[:at])
        np.testing.assert_array_equal(ref.params[0][0, 0], params)


def test_sharpdyn_orbit_cli_stops_on_ctrl_c():
    code = textwrap.dedent("""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot
        from sharpdyn import chaos
        from sharpdyn.figures.chaos import plot_orbit_diagram
        from sharpdyn.cli import main
        import tempfile
        out = tempfile.mkdtemp()
        print("ready", flush=True)
        main(["orbit", "--transient", str(10**13), "--num", "256", "--keep", "10", "--no-lyapunov", "--out", out])
    """)
    child = Child(code)
    child.wait_for("ready")
    elapsed = child.interrupt()
    assert child.proc.returncode != 0
    assert "Aborted" in child.stderr, child.stderr  # click's answer to KeyboardInterrupt
    assert elapsed <= DEADLINE


def test_sharpdyn_mlp_cli_shows_progress_and_stops_on_ctrl_c(tmp_path):
    pytest.importorskip("sklearn")
    code = textwrap.dedent(f"""
        from sharpdyn.cli import main
        main(["mlp", "--out", {str(tmp_path)!r}, "--examples", "64", "--steps", "1000000", "--threads", "1"])
    """)
    child = Child(code)
    child.wait_for("training:", stream="stderr")  # the tqdm bar of the training runs
    child.wait_for("step/s", stream="stderr")  # it has moved
    elapsed = child.interrupt()
    assert child.proc.returncode == 130, child.stderr
    assert "interrupted" in child.stderr
    assert elapsed <= DEADLINE
    with np.load(tmp_path / "mlp_digits_training.npz") as d:
        loss, at = d["loss"], d["interrupted_at"]
    assert at.shape == (1, 3, 1) and np.all(at >= 0) and at.max() > 0
    for r in range(3):
        t = int(at[0, r, 0])
        assert np.all(np.isfinite(loss[0, r, 0, :t])) and np.all(np.isnan(loss[0, r, 0, t:]))


# ------------------------------------------------------------------ results do not change

def _python_function_map(f, lam, lr, kappa, y, steps):
    """The documented UV map, step by step in Python floats (IEEE doubles, no FMA)."""
    bound = 1e6 * (abs(f - y) + abs(y) + 1.0)
    for _ in range(1, steps + 1):
        df = f - y
        f, lam = f - lr * lam * df + lr * lr * kappa * f * df * df, lam + lr * kappa * df * (lr * lam * df - 4.0 * f)
        if not (abs(f - y) <= bound) or not np.isfinite(lam):
            return (np.inf if (f - y >= 0 or np.isnan(f)) else -np.inf), np.inf
    return f, lam


def test_function_map_over_many_poll_intervals_is_bit_identical():
    steps = 3 * 2**16 + 11  # crosses the kernel's interrupt-check chunks
    lrs = np.array([0.3, 1.2, 1.95])  # the last one diverges
    with pytest.warns(uv.DivergenceWarning):
        f, lam = uv.function_map(0.2, 1.0, lr=lrs, width=1.0, steps=steps)
    for i, lr in enumerate(lrs):
        ef, el = _python_function_map(0.2, 1.0, float(lr), 1.0, 1.0, steps)
        assert f[i] == ef and lam[i] == el


def test_long_orbit_diagram_is_bit_identical_to_a_python_loop():
    r = np.linspace(2.3, 3.0, 256)
    T = 2 * 10**6  # long enough for the interrupt poll to run several times
    d = chaos.orbit_diagram("cubic", r, x0=0.3, n_transient=T, n_keep=4)
    for i in (0, 201):
        x, rr = 0.3, float(r[i])
        for _ in range(T):
            x = rr * x * (1.0 - x * x)
        expected = []
        for _ in range(4):
            expected.append(x)
            x = rr * x * (1.0 - x * x)
        np.testing.assert_array_equal(d.states[i], expected)


def test_mlp_progress_reports_finished_steps_and_keeps_results():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((64, 8)), rng.standard_normal((64, 2))
    spec = mlp.MLPSpec((8, 32, 2))
    calls: list[int] = []
    runs = mlp.train(spec, X, Y, lr=[0.05, 0.1, 50.0], steps=1500, sharpness_every=10, threads=1,
                     progress=calls.append)
    plain = mlp.train(spec, X, Y, lr=[0.05, 0.1, 50.0], steps=1500, sharpness_every=10, threads=1)
    assert runs.diverged.tolist() == [[[False], [False], [True]]]  # a diverged run counts as finished
    assert calls[-1] == 3 * 1500 and all(isinstance(c, int) for c in calls)
    assert calls == sorted(set(calls)) and len(calls) >= 2  # increasing, reported while running
    assert not runs.interrupted and np.all(runs.interrupted_at == -1)
    np.testing.assert_array_equal(runs.loss, plain.loss)
    np.testing.assert_array_equal(runs.sharpness, plain.sharpness)
    # plain GD through MLP.loss / MLP.gradient gives the same losses
    p = mlp.init_params(spec, 0)
    for t in range(40):
        net = mlp.MLP.from_spec(spec, params=p)
        assert runs.loss[0, 0, 0, t] == net.loss(X, Y)
        p = p - 0.05 * net.gradient(X, Y)


def test_an_exception_from_progress_stops_training():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((64, 8)), rng.standard_normal((64, 2))

    def progress(done: int) -> None:
        raise RuntimeError(f"stop at {done}")

    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="stop at"):
        mlp.train(mlp.MLPSpec((8, 32, 2)), X, Y, lr=0.05, steps=10**6, threads=1, progress=progress)
    assert time.monotonic() - t0 < 10.0  # 10^6 steps would take minutes


def test_progress_must_be_callable():
    with pytest.raises(TypeError, match="progress"):
        mlp.train(mlp.MLPSpec((2, 2)), np.ones((3, 2)), np.ones((3, 2)), lr=0.1, steps=1, progress=3)
