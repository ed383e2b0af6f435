"""Matrix-free curvature operators of a ``torch.nn.Module`` on a dataset.

:class:`HessianOperator` applies the exact Hessian of the *full-batch* loss
``L(theta) = sum_b (n_b / N) loss(model(X_b), Y_b)`` to flat parameter vectors, one
Hessian-vector product (HVP) at a time, by double backward (default) or forward-over-reverse
(``torch.func.jvp`` of ``torch.func.grad``). The data are processed in chunks of at most
``chunk_size`` examples; the result does not depend on the chunking (up to rounding) unless the
model mixes examples (BatchNorm in train mode, where the chunks are the batches).

By default each chunk's gradient graph (``create_graph=True``) is kept between products while
the graphs kept so far fit in ``max_graph_bytes`` (1 GiB unless set): a product then costs one
backward pass through the kept graph (about two gradients, as PyHessian's) instead of forward +
backward + double backward. A chunk whose graph does not fit is recomputed at every product, so
memory stays bounded by the budget plus one chunk's graph.

:class:`GaussNewtonOperator` applies ``G = sum_b (n_b/N) J_b^T H_out J_b`` (for MSE
``G = J^T J / N``, whose non-zero spectrum is the empirical NTK's divided by ``N``).

Both snapshot the model's parameters when built (copies in the operator's ``dtype`` on its
``device``; the model itself is never modified); call :meth:`refresh` to re-read them.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..validation import one_of, positive_int
from .losses import LossFn, get_loss

Data = Union[tuple[Any, Any], Iterable]
MODES = ("train", "eval")
METHODS = ("double_backward", "forward_over_reverse")
DEFAULT_MAX_GRAPH_BYTES = 1 << 30  # kept gradient graphs, all chunks together (1 GiB)


def _graph_bytes_counter(exclude: Iterable[torch.Tensor]):
    """``(hooks, total)``: a ``saved_tensors_hooks`` context that adds the bytes of every
    distinct storage the autograd graph saves (except those of ``exclude``, which exist
    anyway) to ``total[0]``."""
    seen = {t.untyped_storage().data_ptr() for t in exclude}
    total = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        try:
            storage = t.untyped_storage()
            key, size = storage.data_ptr(), storage.nbytes()
        except (RuntimeError, NotImplementedError):  # tensors without a plain storage
            key, size = id(t), t.numel() * t.element_size()
        if key not in seen:
            seen.add(key)
            total[0] += size
        return t

    return torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), total


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA if available, else CPU; otherwise ``torch.device(device)``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device name such as 'cpu' or 'cuda', got {device!r}") from exc


def resolve_dtype(dtype: Any, model: nn.Module) -> torch.dtype:
    """``None`` -> the dtype of the model's first floating parameter; else float32/float64."""
    if dtype is None:
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.get_default_dtype()
    table = {"float32": torch.float32, "float64": torch.float64, "float": torch.float32, "double": torch.float64,
             torch.float32: torch.float32, torch.float64: torch.float64,
             np.float32: torch.float32, np.float64: torch.float64}
    try:
        return table[dtype]
    except (KeyError, TypeError):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None


def _as_tensor(a: Any, name: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    try:
        return torch.as_tensor(np.asarray(a))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"{name} must be a tensor or array, got {type(a).__name__}") from exc


def batches_of(data: Data, chunk_size: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Normalise ``data`` -- a pair ``(X, Y)`` of tensors/arrays or an iterable of such pairs --
    into a list of ``(x, y)`` chunks of at most ``chunk_size`` examples (all if ``None``).

    Raises ``ValueError`` for empty data, mismatched lengths or non-finite inputs/targets.
    """
    if chunk_size is not None:
        chunk_size = positive_int(chunk_size, "chunk_size")
    if isinstance(data, (tuple, list)) and len(data) == 2 and not isinstance(data[0], (tuple, list)):
        pairs: list = [data]
    elif isinstance(data, Iterable) and not isinstance(data, (torch.Tensor, np.ndarray, str)):
        pairs = list(data)
    else:
        raise TypeError("data must be a pair (X, Y) or an iterable of (x, y) batches")
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"data batch {i} must be a pair (x, y)")
        x, y = _as_tensor(pair[0], "X"), _as_tensor(pair[1], "Y")
        if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
            raise ValueError(f"data batch {i}: X and Y must have the same leading (example) axis, "
                             f"got shapes {tuple(x.shape)} and {tuple(y.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"data batch {i} is empty")
        for t, nm in ((x, "X"), (y, "Y")):
            if t.is_complex():
                raise ValueError(f"data batch {i}: {nm} must be real, got dtype {t.dtype}")
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise ValueError(f"data batch {i}: {nm} contains NaN or infinity")
        step = x.shape[0] if chunk_size is None else chunk_size
        for s in range(0, x.shape[0], step):
            out.append((x[s:s + step], y[s:s + step]))
    if not out:
        raise ValueError("data must contain at least one example")
    return out


@contextlib.contextmanager
def model_mode(model: nn.Module, mode: str | None) -> Iterator[None]:
    """Temporarily put ``model`` in ``"train"`` or ``"eval"`` mode (``None``: leave it as it
    is); every submodule's own flag is restored afterwards."""
    if mode is None:
        yield
        return
    flags = [(m, m.training) for m in model.modules()]
    model.train(mode == "train")
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def _check_no_active_dropout(model: nn.Module, mode: str | None) -> None:
    drop = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
    for name, m in model.named_modules():
        training = m.training if mode is None else mode == "train"
        if isinstance(m, drop) and m.p > 0 and training:
            raise ValueError(
                f"module {name or type(m).__name__!r} is a Dropout in train mode: its Hessian is random. "
                "Pass mode='eval' (dropout off) or set p=0")


class _CurvatureOperator:
    """Common machinery: parameter snapshot, data chunks, flat vectors, SciPy interop."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: str | LossFn,
        data: Data,
        *,
        chunk_size: int | None = None,
        dtype: Any = None,
        device: str | torch.device | None = None,
        mode: str | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if mode is not None:
            one_of(mode, "mode", MODES)
        self.model = model
        self.loss_fn = get_loss(loss_fn)
        self.mode = mode
        self.training = model.training if mode is None else mode == "train"
        _check_no_active_dropout(model, mode)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, model)
        self.chunk_size = chunk_size
        self.chunks = [(self._cast(x), self._cast(y)) for x, y in batches_of(data, chunk_size)]
        self.n_examples = sum(int(x.shape[0]) for x, _ in self.chunks)
        self.weights = [x.shape[0] / self.n_examples for x, _ in self.chunks]
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        if not self.names:
            raise ValueError("model has no parameters that require gradients")
        self.refresh()
        self._check_integer_inputs()
        self.n_params = sum(p.numel() for p in self.params)
        self.shape = (self.n_params, self.n_params)
        self.n_products = 0

    def _check_integer_inputs(self) -> None:
        """Integer ``X`` is passed to the model as it is (models that take indices, such as
        ``nn.Embedding``, need it); if the model cannot take it, say so naming ``X``."""
        x = self.chunks[0][0]
        if x.is_floating_point():
            return
        try:
            with torch.no_grad():
                self.output([p.detach() for p in self.params], x[:1])
        except RuntimeError as exc:
            raise TypeError(f"X has dtype {x.dtype} and the model cannot be evaluated on it ({exc}); "
                            f"convert X to a floating dtype, e.g. X.to({self.dtype})") from None

    def _cast(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device)
        return t.to(self.dtype) if t.is_floating_point() else t

    def refresh(self) -> None:
        """Re-read the model's current parameters and buffers (a snapshot, as when built).
        Drops any kept gradient graphs."""
        self._graphs: dict[int, tuple[torch.Tensor, ...]] = {}
        self._uncached: set[int] = set()
        self.graph_bytes = 0
        named = dict(self.model.named_parameters())
        self.params = [named[n].detach().to(self.device, self.dtype).clone().requires_grad_(True)
                       for n in self.names]
        self.frozen = {n: self._cast(p.detach()) for n, p in named.items() if n not in self.names}
        self.buffers = {n: self._cast(b.detach().clone()) for n, b in self.model.named_buffers()}

    # -- functional model --------------------------------------------------------------
    def output(self, params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """``model(x)`` evaluated at ``params`` (a list in the order of :attr:`names`)."""
        state = {**self.frozen, **self.buffers, **dict(zip(self.names, params))}
        with model_mode(self.model, self.mode):
            return functional_call(self.model, state, (x,))

    def flatten(self, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.cat([t.reshape(-1) for t in tensors])

    def unflatten(self, v: torch.Tensor) -> list[torch.Tensor]:
        parts = torch.split(v, [p.numel() for p in self.params])
        return [s.view_as(p) for s, p in zip(parts, self.params)]

    def flat_params(self) -> torch.Tensor:
        """The snapshot of the parameters as one flat vector, shape ``(n_params,)``."""
        return self.flatten([p.detach() for p in self.params])

    def loss_and_gradient(self) -> tuple[float, torch.Tensor]:
        """Full-batch loss and its flat gradient at the snapshot."""
        total = 0.0
        grad = torch.zeros(self.n_params, dtype=self.dtype, device=self.device)
        for (x, y), w in zip(self.chunks, self.weights):
            loss = self.loss_fn(self.output(self.params, x), y) * w
            grad += self.flatten(torch.autograd.grad(loss, self.params))
            total += float(loss.detach())
        return total, grad

    # -- products ----------------------------------------------------------------------
    def _chunk_product(self, v: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor, w: float, i: int):
        raise NotImplementedError

    def _product(self, v: torch.Tensor) -> torch.Tensor:
        if v.shape != (self.n_params,):
            raise ValueError(f"vector must have shape ({self.n_params},), got {tuple(v.shape)}")
        vs = self.unflatten(v.to(self.device, self.dtype))
        out = torch.zeros(self.n_params, dtype=self.dtype, device=self.device)
        for i, ((x, y), w) in enumerate(zip(self.chunks, self.weights)):
            out += self.flatten(self._chunk_product(vs, x, y, w, i))
        self.n_products += 1
        return out

    def matvec(self, v: Any) -> Any:
        """Apply the operator to one flat vector of shape ``(n_params,)``. A NumPy array gives
        a NumPy array (the operator's dtype), a tensor gives a tensor on the operator's device."""
        if isinstance(v, torch.Tensor):
            return self._product(v.detach())
        arr = np.asarray(v)
        if arr.ndim == 2 and arr.shape[1] == 1:
            return self.matvec(arr[:, 0])[:, None]
        res = self._product(torch.as_tensor(np.ascontiguousarray(arr)))
        return res.cpu().numpy()

    def matmat(self, V: Any) -> Any:
        """Apply to the columns of ``V`` (shape ``(n_params, m)``), one product per column."""
        if isinstance(V, torch.Tensor):
            return torch.stack([self._product(V[:, j]) for j in range(V.shape[1])], dim=1)
        arr = np.asarray(V)
        return np.stack([self.matvec(arr[:, j]) for j in range(arr.shape[1])], axis=1)

    def __matmul__(self, v: Any) -> Any:
        if getattr(v, "ndim", 1) == 2:
            return self.matmat(v)
        return self.matvec(v)

    def to_scipy(self):
        """A ``scipy.sparse.linalg.LinearOperator`` (symmetric, so ``rmatvec = matvec``) for
        ``eigsh``, ``cg``, ... Vectors cross as NumPy arrays in the operator's dtype."""
        from scipy.sparse.linalg import LinearOperator

        np_dtype = np.float64 if self.dtype == torch.float64 else np.float32
        return LinearOperator(self.shape, matvec=self.matvec, rmatvec=self.matvec, matmat=self.matmat,
                              dtype=np_dtype)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n_params={self.n_params}, n_examples={self.n_examples}, "
                f"chunks={len(self.chunks)}, dtype={self.dtype}, device={self.device}, "
                f"mode={'train' if self.training else 'eval'})")


class HessianOperator(_CurvatureOperator):
    """Exact Hessian of the full-batch loss of ``model`` on ``data``.

    Parameters
    ----------
    model:
        Any ``nn.Module`` mapping a batch ``x`` of shape ``(n, ...)`` to outputs ``(n, ...)``.
    loss_fn:
        ``"mse"`` (``(1/2N) sum ||f - y||^2``), ``"mse_per_class"``, ``"cross_entropy"`` or a
        callable ``loss(output, target)`` that averages over the examples of its batch.
    data:
        ``(X, Y)`` tensors/arrays, or an iterable of ``(x, y)`` batches (all are used).
    chunk_size:
        At most this many examples per forward/backward pass (``None``: one pass per batch).
    dtype:
        ``float32`` or ``float64`` (default: the model's parameter dtype). Parameters and data
        are copied in this dtype; the model is not modified.
    device:
        Where products run; ``None`` picks CUDA when available, else CPU.
    mode:
        ``"train"`` or ``"eval"`` to evaluate the model in that mode (BatchNorm batch vs running
        statistics), ``None`` (default) to use the model's current mode. Never changed silently;
        an active Dropout raises ``ValueError`` because it makes the Hessian random.
    method:
        ``"double_backward"`` (default; works with every module) or ``"forward_over_reverse"``
        (``torch.func.jvp(grad)``; not for modules that update buffers in place, such as
        BatchNorm in train mode).
    cache_graph:
        ``None`` (default): keep each chunk's gradient graph (``create_graph=True``) between
        products while all kept graphs fit in ``max_graph_bytes``, so that a product costs one
        backward pass through the kept graph (as PyHessian's) instead of forward + backward +
        double backward; chunks that do not fit are recomputed at every product. ``True``: keep
        every chunk's graph whatever its size; ``False``: never keep (least memory). Products
        are the same up to rounding either way. Kept graphs are dropped by :meth:`refresh`.
    max_graph_bytes:
        Memory budget in bytes for the kept graphs with ``cache_graph=None`` (default
        ``DEFAULT_MAX_GRAPH_BYTES`` = 1 GiB), measured as the bytes of the tensors the autograd
        graph saves beyond the parameters and data. ``0`` disables keeping.

    Attributes
    ----------
    graph_bytes:
        Bytes of the gradient graphs kept now under the budget (``cache_graph=None``; 0 before
        the first product, after :meth:`refresh`, and when ``cache_graph`` is ``True`` or
        ``False``, which do not measure).
    """

    def __init__(self, model, loss_fn, data, *, chunk_size=None, dtype=None, device=None, mode=None,
                 method: str = "double_backward", cache_graph: bool | None = None,
                 max_graph_bytes: int | None = None) -> None:
        self.method = one_of(method, "method", METHODS)
        if cache_graph is not None and not isinstance(cache_graph, (bool, np.bool_)):
            raise TypeError(f"cache_graph must be True, False or None, got {cache_graph!r}")
        if cache_graph and self.method != "double_backward":
            raise ValueError("cache_graph needs method='double_backward'")
        if max_graph_bytes is None:
            max_graph_bytes = DEFAULT_MAX_GRAPH_BYTES
        if isinstance(max_graph_bytes, (bool, np.bool_)) or not isinstance(max_graph_bytes, (int, np.integer)):
            raise TypeError(f"max_graph_bytes must be an integer number of bytes, got {max_graph_bytes!r}")
        if max_graph_bytes < 0:
            raise ValueError(f"max_graph_bytes must be >= 0, got {max_graph_bytes}")
        self.max_graph_bytes = int(max_graph_bytes)
        self.cache_graph = None if cache_graph is None else bool(cache_graph)
        super().__init__(model, loss_fn, data, chunk_size=chunk_size, dtype=dtype, device=device, mode=mode)

    @property
    def keeps_graphs(self) -> bool:
        """Whether products may reuse kept gradient graphs (double backward, caching not off)."""
        return self.method == "double_backward" and self.cache_graph is not False

    def _chunk_product(self, v, x, y, w, i):
        if self.method == "double_backward":
            grads = self._graphs.get(i)
            if grads is None:
                measure = self.cache_graph is None and i not in self._uncached
                if measure:
                    hooks, saved = _graph_bytes_counter([*self.params, x, y])
                else:
                    hooks, saved = contextlib.nullcontext(), [0]
                with hooks:
                    loss = self.loss_fn(self.output(self.params, x), y) * w
                    grads = torch.autograd.grad(loss, self.params, create_graph=True)
                keep = self.cache_graph is True
                if measure:
                    size = saved[0] + sum(g.numel() * g.element_size() for g in grads)
                    keep = self.graph_bytes + size <= self.max_graph_bytes
                    if keep:
                        self.graph_bytes += size
                    else:
                        self._uncached.add(i)
                if keep:
                    self._graphs[i] = grads
            return torch.autograd.grad(grads, self.params, grad_outputs=v, retain_graph=i in self._graphs)
        primals = tuple(p.detach() for p in self.params)

        def loss_of(ps):
            return self.loss_fn(self.output(list(ps), x), y) * w

        with warnings.catch_warnings():
            # torch 2.13 builds its jvp decompositions with the deprecated torch.jit.script on first use
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=DeprecationWarning)
            _, hv = torch.func.jvp(torch.func.grad(loss_of), (primals,), (tuple(v),))
        return hv


class GaussNewtonOperator(_CurvatureOperator):
    """Gauss--Newton matrix ``G = sum_b (n_b/N) J_b^T H_out,b J_b`` of the full-batch loss,
    ``J_b`` the Jacobian of the outputs w.r.t. the parameters and ``H_out,b`` the Hessian of
    the loss w.r.t. the outputs. For :func:`~sharpdyn.torch.losses.mse`, ``G = J^T J / N``: its
    top eigenvalue is the top eigenvalue of the empirical NTK ``J J^T`` divided by ``N``.
    Arguments as in :class:`HessianOperator`. Uses reverse mode only (``J v`` by the
    double-vjp trick), so it works with every module."""

    def _chunk_product(self, v, x, y, w, i):
        out = self.output(self.params, x)
        u = torch.zeros_like(out, requires_grad=True)
        jtu = torch.autograd.grad(out, self.params, grad_outputs=u, create_graph=True)
        jv = torch.autograd.grad(jtu, u, grad_outputs=v, retain_graph=True)[0]
        o = out.detach().requires_grad_(True)
        go = torch.autograd.grad(self.loss_fn(o, y) * w, o, create_graph=True)[0]
        h_jv = torch.autograd.grad(go, o, grad_outputs=jv)[0]
        return torch.autograd.grad(out, self.params, grad_outputs=h_jv)
