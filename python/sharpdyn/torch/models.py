"""Architectures of the paper's experiments, each in SP or muP with an init-scale knob.

Parameterisation (``param``: ``"sp"``, ``"mup"`` or an exponent ``s`` in [0, 1], as in
:mod:`sharpdyn.parameterization`): every weight matrix is drawn
``N(0, init_scale^2 * gain / fan_in)`` (He-style: ``gain = 2`` for ReLU, 1 otherwise; biases
zero), and the readout layer's output is multiplied by ``fan_in^{-s/2}``. ``s = 0`` is the
standard parameterisation (output O(1) at init); ``s = 1`` is muP's ``1/width`` readout
(output ``O(width^{-1/2})`` at init, as for the UV model, whose output scales as
``n^{-s/2}``). In the transformer the attention logits are scaled by ``d_head^{-(1+s)/2}``
(``1/sqrt(d)`` in SP, ``1/d`` in muP).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .. import parameterization as _param
from ..validation import one_of, positive_float, positive_int

ACTIVATIONS = {"relu": (nn.ReLU, 2.0), "tanh": (nn.Tanh, 1.0), "gelu": (nn.GELU, 1.0), "linear": (nn.Identity, 1.0)}
NORMS = ("none", "batchnorm", "layernorm")


class Readout(nn.Linear):
    """``nn.Linear`` whose output is multiplied by a fixed ``multiplier`` (muP readout)."""

    def __init__(self, in_features: int, out_features: int, *, multiplier: float = 1.0, bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.multiplier = float(multiplier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.multiplier

    def extra_repr(self) -> str:
        return super().extra_repr() + f", multiplier={self.multiplier:.4g}"


def _activation(name: str) -> tuple[type, float]:
    return ACTIVATIONS[one_of(name, "activation", tuple(ACTIVATIONS))]


def _init(module: nn.Module, gain: float, init_scale: float) -> None:
    """Fan-in Gaussian init of every Linear/Conv weight; zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            g = 1.0 if isinstance(m, Readout) else gain
            nn.init.normal_(m.weight, std=init_scale * math.sqrt(g / fan_in))
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _readout(width: int, n_out: int, param: _param.Param, bias: bool = True) -> Readout:
    s = _param.exponent(param)
    return Readout(width, n_out, multiplier=width ** (-s / 2.0), bias=bias)


def fcn(d_in: int, d_out: int, *, depth: int = 3, width: int = 256, activation: str = "relu",
        param: _param.Param = "sp", init_scale: float = 1.0, bias: bool = True) -> nn.Sequential:
    """Fully connected network with ``depth`` linear layers (``depth - 1`` hidden layers of
    ``width``). Input ``(N, d_in)`` (higher-rank inputs are flattened), output ``(N, d_out)``."""
    d_in, d_out, depth, width = (positive_int(v, nm) for v, nm in
                                 ((d_in, "d_in"), (d_out, "d_out"), (depth, "depth"), (width, "width")))
    init_scale = positive_float(init_scale, "init_scale")
    act, gain = _activation(activation)
    layers: list[nn.Module] = [nn.Flatten()]
    fan = d_in
    for _ in range(depth - 1):
        layers += [nn.Linear(fan, width, bias=bias), act()]
        fan = width
    layers.append(_readout(fan, d_out, param, bias))
    net = nn.Sequential(*layers)
    _init(net, gain, init_scale)
    return net


def myrtle_cnn(in_channels: int = 1, n_out: int = 10, *, width: int = 32, depth: int = 5, activation: str = "relu",
               param: _param.Param = "sp", init_scale: float = 1.0) -> nn.Sequential:
    """Myrtle CNN (Shankar et al. 2020): a 3x3 conv stem, three stages of ``b`` 3x3 convs
    (``b = 1, 2, 3`` for ``depth = 5, 7, 10``) separated by 2x2 average pooling, global average
    pooling and a linear readout. Input ``(N, C, H, W)``."""
    blocks = {5: 1, 7: 2, 10: 3}
    if depth not in blocks:
        raise ValueError(f"depth must be one of 5, 7, 10 (Myrtle-5/7/10), got {depth!r}")
    in_channels, n_out, width = (positive_int(v, nm) for v, nm in
                                 ((in_channels, "in_channels"), (n_out, "n_out"), (width, "width")))
    init_scale = positive_float(init_scale, "init_scale")
    act, gain = _activation(activation)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), act()]
    for stage in range(3):
        for _ in range(blocks[depth]):
            layers += [nn.Conv2d(width, width, 3, padding=1), act()]
        layers.append(nn.AvgPool2d(2, ceil_mode=True) if stage < 2 else nn.AdaptiveAvgPool2d(1))
    layers += [nn.Flatten(), _readout(width, n_out, param)]
    net = nn.Sequential(*layers)
    _init(net, gain, init_scale)
    return net


def _norm2d(norm: str, channels: int) -> nn.Module:
    if norm == "batchnorm":
        return nn.BatchNorm2d(channels)
    if norm == "layernorm":  # LayerNorm over (C, H, W)
        return nn.GroupNorm(1, channels)
    return nn.Identity()


class BasicBlock(nn.Module):
    """Pre-activation residual block: ``x + conv(act(norm(conv(act(norm(x))))))``."""

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str, act: type) -> None:
        super().__init__()
        self.n1, self.c1 = _norm2d(norm, c_in), nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.n2, self.c2 = _norm2d(norm, c_out), nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.act = act()
        self.skip = (nn.Identity() if stride == 1 and c_in == c_out
                     else nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(self.act(self.n1(x)))
        h = self.c2(self.act(self.n2(h)))
        return self.skip(x) + h


def resnet(in_channels: int = 3, n_out: int = 10, *, width: int = 16, blocks: Sequence[int] = (1, 1, 1),
           norm: str = "none", activation: str = "relu", param: _param.Param = "sp",
           init_scale: float = 1.0) -> nn.Sequential:
    """Small pre-activation ResNet: conv stem, stages of ``blocks[i]`` residual blocks with
    ``width * 2^i`` channels (stride 2 between stages), ``norm`` in ``"none"``,
    ``"batchnorm"`` or ``"layernorm"`` (over channels and space), global pooling, readout."""
    one_of(norm, "norm", NORMS)
    in_channels, n_out, width = (positive_int(v, nm) for v, nm in
                                 ((in_channels, "in_channels"), (n_out, "n_out"), (width, "width")))
    blocks = [positive_int(b, "blocks[i]") for b in blocks]
    if not blocks:
        raise ValueError("blocks must name at least one stage")
    init_scale = positive_float(init_scale, "init_scale")
    act, gain = _activation(activation)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1, bias=False)]
    c = width
    for i, b in enumerate(blocks):
        c_out = width * 2**i
        for j in range(b):
            layers.append(BasicBlock(c, c_out, 2 if (i > 0 and j == 0) else 1, norm, act))
            c = c_out
    layers += [_norm2d(norm, c), act(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), _readout(c, n_out, param)]
    net = nn.Sequential(*layers)
    _init(net, gain, init_scale)
    return net


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, scale: float) -> None:
        super().__init__()
        self.heads, self.scale = heads, scale
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, w = x.shape
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax((q @ k.transpose(-1, -2)) * self.scale, dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(n, t, w))


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: ``x + attn(LN(x))``, then ``x + MLP(LN(x))`` (GELU, 4x width)."""

    def __init__(self, width: int, heads: int, scale: float) -> None:
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(width), SelfAttention(width, heads, scale)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """Small transformer on a flattened input split into tokens of ``token_size`` features:
    linear embedding + learned positions, ``depth`` pre-LN blocks, mean pooling, readout."""

    def __init__(self, d_in: int, n_out: int, *, token_size: int, width: int, depth: int, heads: int,
                 param: _param.Param, init_scale: float) -> None:
        super().__init__()
        if d_in % token_size:
            raise ValueError(f"token_size={token_size} must divide the input size {d_in}")
        if width % heads:
            raise ValueError(f"heads={heads} must divide width={width}")
        s = _param.exponent(param)
        self.token_size, self.n_tokens = token_size, d_in // token_size
        self.embed = nn.Linear(token_size, width)
        self.pos = nn.Parameter(torch.zeros(self.n_tokens, width))
        scale = (width // heads) ** (-(1.0 + s) / 2.0)
        self.blocks = nn.Sequential(*[TransformerBlock(width, heads, scale) for _ in range(depth)])
        self.ln = nn.LayerNorm(width)
        self.readout = _readout(width, n_out, param)
        _init(self, 1.0, init_scale)
        nn.init.normal_(self.pos, std=init_scale * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x.reshape(x.shape[0], self.n_tokens, self.token_size)) + self.pos
        return self.readout(self.ln(self.blocks(h)).mean(dim=1))


def transformer(d_in: int, n_out: int, *, token_size: int = 16, width: int = 32, depth: int = 2, heads: int = 2,
                param: _param.Param = "sp", init_scale: float = 1.0) -> Transformer:
    """Small transformer (the paper's open question): see :class:`Transformer`. Input
    ``(N, d_in)`` or any shape that flattens to ``d_in`` features (e.g. images: 28x28 with
    ``token_size=28`` gives one token per row)."""
    d_in, n_out, token_size, width, depth, heads = (positive_int(v, nm) for v, nm in (
        (d_in, "d_in"), (n_out, "n_out"), (token_size, "token_size"), (width, "width"), (depth, "depth"),
        (heads, "heads")))
    return Transformer(d_in, n_out, token_size=token_size, width=width, depth=depth, heads=heads, param=param,
                       init_scale=positive_float(init_scale, "init_scale"))


ARCHITECTURES = {"fcn": fcn, "myrtle": myrtle_cnn, "resnet": resnet, "transformer": transformer}
