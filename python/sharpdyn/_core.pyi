"""
sharpdyn's compiled core (private: import sharpdyn instead)
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['HAS_OPENMP', 'cubic_cycle_derivatives', 'cubic_doubling_points', 'cubic_find_cycle', 'cubic_lyapunov', 'cubic_orbits', 'cubic_periods', 'cubic_scan', 'lanczos_dense', 'max_threads', 'mlp_forward', 'mlp_hessian', 'mlp_hvp', 'mlp_jacobian', 'mlp_loss_gradient', 'mlp_num_params', 'mlp_top_eigenvalues_hvp', 'mlp_train', 'simd_isa', 'simd_isa_available', 'uv_function_map', 'uv_function_trajectory', 'uv_lyapunov_spectrum', 'uv_orbits', 'uv_periods', 'uv_product_jacobian', 'uv_scan', 'uv_train', 'uv_train_momentum']
def cubic_cycle_derivatives(x0: typing.SupportsFloat | typing.SupportsIndex, r: typing.SupportsFloat | typing.SupportsIndex, period: typing.SupportsInt | typing.SupportsIndex) -> tuple[float, float, float, float, float]:
    """
    (x_p, dx_p/dx0, dx_p/dr, d2x_p/dx0^2, d2x_p/dx0 dr)
    """
def cubic_doubling_points(count: typing.SupportsInt | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex = 60) -> dict:
    ...
def cubic_find_cycle(r: typing.SupportsFloat | typing.SupportsIndex, x_guess: typing.SupportsFloat | typing.SupportsIndex, period: typing.SupportsInt | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex = 60) -> tuple[float, float, int, bool]:
    """
    Newton on f^p(x) = x at fixed r: (x, multiplier, iterations, converged).
    """
def cubic_lyapunov(r: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, n_steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = 'auto') -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    ...
def cubic_orbits(r: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, n_keep: typing.SupportsInt | typing.SupportsIndex, observable: typing.SupportsInt | typing.SupportsIndex, continuation: bool, threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = 'auto') -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    """
    Cubic-map orbits: (states (count, n_keep), diverged_at (count)).
    """
def cubic_periods(r: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, max_period: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int64]:
    ...
def cubic_scan(r: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], steps: typing.SupportsInt | typing.SupportsIndex, late_window: typing.SupportsInt | typing.SupportsIndex, sharpness_every: typing.SupportsInt | typing.SupportsIndex = 1, converged_rtol: typing.SupportsFloat | typing.SupportsIndex = 1e-10, loss_increase_rtol: typing.SupportsFloat | typing.SupportsIndex = 1e-12, threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = 'auto') -> dict:
    """
    Cubic-map grid scan over flat arrays r, x0 of equal length; returns a dict of per-point arrays (final x, diverged_at, loss and sharpness statistics in map units).
    """
def lanczos_dense(A: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], k: typing.SupportsInt | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], int, bool]:
    """
    Largest-k eigenpairs of a dense symmetric matrix: (values, vectors, residuals, iterations, converged).
    """
def max_threads() -> int:
    """
    Threads an OpenMP kernel uses by default (1 without OpenMP).
    """
def mlp_forward(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Outputs f, shape (N, d_out).
    """
def mlp_hessian(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], gauss_newton: bool = False, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.float64]:
    """
    Dense Hessian (or Gauss-Newton matrix), shape (P, P).
    """
def mlp_hvp(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Exact Hessian-vector product.
    """
def mlp_jacobian(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
    """
    Jacobian of the outputs, shape (N * d_out, P).
    """
def mlp_loss_gradient(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], want_grad: bool) -> tuple[float, numpy.typing.NDArray[numpy.float64]]:
    """
    (loss, gradient) of the training loss.
    """
def mlp_num_params(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Number of parameters of the network.
    """
def mlp_top_eigenvalues_hvp(widths: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], activation: typing.SupportsInt | typing.SupportsIndex, bias: bool, multipliers: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], loss: typing.SupportsInt | typing.SupportsIndex, params: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], k: typing.SupportsInt | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float64], int]:
    """
    Top-k Hessian eigenvalues by Lanczos on exact HVPs: (values, iterations).
    """
def mlp_train(networks: collections.abc.Sequence[tuple], net_index: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], inits: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64]], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], seeds: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], X: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], orders: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], order_index: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], steps: typing.SupportsInt | typing.SupportsIndex, sharpness_every: typing.SupportsInt | typing.SupportsIndex, batch_size: typing.SupportsInt | typing.SupportsIndex, max_iter: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, divergence_factor: typing.SupportsFloat | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0, progress: typing.Any = None, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.0, nesterov: bool = False) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.uint8], numpy.typing.NDArray[numpy.int64], list[numpy.typing.NDArray[numpy.float64]], numpy.typing.NDArray[numpy.int64]]:
    """
    Batched GD/SGD runs, optionally with heavy-ball momentum in [0, 1) (torch.optim.SGD's convention: dampening 0, zero initial velocity; nesterov as SGD(nesterov=True)): (loss, sharpness, diverged, diverged_at, final_params, interrupted_at). Ctrl-C stops every run at its next step and returns what is done (interrupted_at: the step each run stopped at, -1 if it finished). progress, if given, is called with the number of finished run-steps (of runs x steps) about every 50 ms and at the end.
    """
def simd_isa(isa: str = 'auto') -> str:
    """
    The SIMD path every kernel with an isa= argument runs for this name on this CPU ('auto': the widest available); ValueError if it cannot run here.
    """
def simd_isa_available(isa: str) -> bool:
    """
    Whether the kernels can run this SIMD path here.
    """
def uv_function_map(f0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ntk0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], kappa: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    """
    Flat arrays of equal length in; (f, ntk, diverged_at) out.
    """
def uv_function_trajectory(f0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ntk0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], kappa: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    """
    Flat arrays of equal length in; recorded (f, ntk) of shape (n, steps + 1) and diverged_at out.
    """
def uv_lyapunov_spectrum(Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], z0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, n_steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    ...
def uv_orbits(Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], z0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, n_keep: typing.SupportsInt | typing.SupportsIndex, observable: typing.SupportsInt | typing.SupportsIndex, continuation: bool, threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = 'auto') -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.int64]]:
    """
    UV normalised-map orbits: (states (count, n_keep, dim), diverged_at (count)).
    """
def uv_periods(Y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], g0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], z0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], n_transient: typing.SupportsInt | typing.SupportsIndex, max_period: typing.SupportsInt | typing.SupportsIndex, tol: typing.SupportsFloat | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> numpy.typing.NDArray[numpy.int64]:
    ...
def uv_product_jacobian(g: typing.SupportsFloat | typing.SupportsIndex, z: typing.SupportsFloat | typing.SupportsIndex, Y: typing.SupportsFloat | typing.SupportsIndex, period: typing.SupportsInt | typing.SupportsIndex) -> tuple[float, float, numpy.typing.NDArray[numpy.float64]]:
    """
    Iterate p steps: (g_p, z_p, product of the 2x2 Jacobians along the way).
    """
def uv_scan(f0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], ntk0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], kappa: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], steps: typing.SupportsInt | typing.SupportsIndex, late_window: typing.SupportsInt | typing.SupportsIndex, sharpness_every: typing.SupportsInt | typing.SupportsIndex = 1, converged_rtol: typing.SupportsFloat | typing.SupportsIndex = 1e-10, loss_increase_rtol: typing.SupportsFloat | typing.SupportsIndex = 1e-12, threads: typing.SupportsInt | typing.SupportsIndex = 0, isa: str = 'auto') -> dict:
    """
    UV function-map grid scan over flat arrays of equal length; returns a dict of per-point arrays (final state, diverged_at, loss and sharpness statistics).
    """
def uv_train(u0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.SupportsFloat | typing.SupportsIndex, gamma: typing.SupportsFloat | typing.SupportsIndex, steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.uint8], numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Parameter-space GD for a batch of UV runs; returns (loss, f, ntk, sharpness, diverged, diverged_at, u, v).
    """
def uv_train_momentum(u0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], v0: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], x: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], lr: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], momentum: typing.Annotated[numpy.typing.ArrayLike, numpy.float64], y: typing.SupportsFloat | typing.SupportsIndex, gamma: typing.SupportsFloat | typing.SupportsIndex, steps: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.uint8], numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    """
    Parameter-space heavy-ball GD for a batch of UV runs (lr and momentum per run); returns (loss, f, ntk, sharpness, diverged, diverged_at, u, v).
    """
HAS_OPENMP: bool = True
__version__: str = '0.1.0'
