"""``sharpdyn train``: train a network with (S)GD, tracking its sharpness; write the
trajectories (npz or netCDF), a figure and a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

ARCHS = ("fcn", "myrtle", "resnet", "transformer")
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "synthetic")


def build_model(arch: str, x_shape: tuple, n_out: int, *, depth: int, width: int, activation: str, param: str,
                init_scale: float, norm: str):
    """A model from :mod:`sharpdyn.torch.models` for inputs of shape ``x_shape`` (per example)."""
    from ..torch import models

    d_in = int(np.prod(x_shape))
    if arch == "fcn":
        return models.fcn(d_in, n_out, depth=depth, width=width, activation=activation, param=param,
                          init_scale=init_scale)
    if len(x_shape) != 3 and arch in ("myrtle", "resnet"):
        raise click.BadParameter(f"{arch} needs image data (N, C, H, W); got examples of shape {x_shape}")
    if arch == "myrtle":
        return models.myrtle_cnn(x_shape[0], n_out, width=width, depth=depth if depth in (5, 7, 10) else 5,
                                 activation=activation, param=param, init_scale=init_scale)
    if arch == "resnet":
        return models.resnet(x_shape[0], n_out, width=width, norm=norm, activation=activation, param=param,
                             init_scale=init_scale)
    token = x_shape[-1] if len(x_shape) > 1 else d_in
    return models.transformer(d_in, n_out, token_size=token, width=width, depth=depth, param=param,
                              init_scale=init_scale)


@click.command()
@click.option("--dataset", type=click.Choice(DATASETS), default="digits", show_default=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the dataset's files (MNIST IDX / CIFAR-10 pickles).")
@click.option("--n", "n_examples", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Training examples (a seeded subset).")
@click.option("--classes", type=click.IntRange(min=2), default=None, help="Keep the first K classes.")
@click.option("--arch", type=click.Choice(ARCHS), default="fcn", show_default=True)
@click.option("--depth", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--width", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--activation", type=click.Choice(["tanh", "relu", "gelu", "linear"]), default="tanh",
              show_default=True)
@click.option("--param", type=click.Choice(["sp", "mup"]), default="sp", show_default=True)
@click.option("--init-scale", type=float, default=1.0, show_default=True)
@click.option("--norm", type=click.Choice(["none", "batchnorm", "layernorm"]), default="none", show_default=True)
@click.option("--loss", type=click.Choice(["mse", "mse_per_class", "cross_entropy"]), default="mse",
              show_default=True)
@click.option("--lr", "lrs", type=float, multiple=True, help="Learning rate(s); repeat for several runs.")
@click.option("--c", "cs", type=float, multiple=True,
              help="Normalised learning rate(s): lr = c / sharpness at init (default 1.0 if no --lr).")
@click.option("--steps", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--sharpness-every", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--eig-tol", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Also stop each sharpness measurement once its estimated relative error is below this "
                   "(e.g. 1e-4: fewer HVPs; default: the residual rule alone, ~1e-8).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="SGD batch size (default: full-batch GD).")
@click.option("--optimizer", type=click.Choice(["gd", "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"]),
              default="gd", show_default=True,
              help="Update rule; the recorded sharpness and threshold follow it (momentum: (2+2b)/lr; Nesterov: "
                   "2(1+b)/((1+2b)lr); Adam/AdamW: lambda_max(P^-1 H) against (2+2b1)/((1-b1)lr); RMSprop: "
                   "lambda_max(P^-1 H) against (2+2b)/lr).")
@click.option("--momentum", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.9, show_default=True,
              help="Momentum b of momentum / nesterov / rmsprop.")
@click.option("--beta1", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.9, show_default=True,
              help="Adam/AdamW first-moment decay.")
@click.option("--beta2", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.999, show_default=True,
              help="Adam/AdamW second-moment decay (RMSprop's alpha).")
@click.option("--eps", type=click.FloatRange(min=0.0, min_open=True), default=1e-8, show_default=True,
              help="Adam/AdamW/RMSprop eps (part of the preconditioner P).")
@click.option("--weight-decay", type=click.FloatRange(min=0.0), default=0.0, show_default=True)
@click.option("--minibatch-samples", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --batch-size: at each measurement also sample this many mini-batches and record the mean "
                   "and spread of their sharpness and the curvature along their gradients.")
@click.option("--warmup", type=click.IntRange(min=0), default=0, show_default=True, help="Linear warm-up steps.")
@click.option("--lyapunov", is_flag=True, help="Also record the running largest Lyapunov exponent (1 HVP/step).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default="float32", show_default=True)
@click.option("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda if available).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice; 1 avoids oversubscription on busy machines).")
@click.option("--format", "fmt", type=click.Choice(["npz", "netcdf"]), default="npz", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="sharpdyn-train",
              show_default=True)
def train(dataset, root, n_examples, classes, arch, depth, width, activation, param, init_scale, norm, loss, lrs, cs,
          steps, sharpness_every, eig_tol, batch_size, optimizer, momentum, beta1, beta2, eps, weight_decay,
          minibatch_samples, warmup,
          lyapunov, seed, dtype, device, threads, fmt, out_dir) -> None:
    """Train a network with (S)GD, momentum, Adam, AdamW or RMSprop and track its sharpness (top
    Hessian eigenvalue by Lanczos; for Adam/AdamW/RMSprop the preconditioned one) against the
    optimizer's stability threshold."""
    import copy

    import matplotlib
    import torch
    from tqdm import tqdm

    from .. import data as _data
    from ..figures.training import plot_training
    from ..torch import hessian_eigenvalues
    from ..torch import train as _train
    from ..torch.operators import resolve_device

    matplotlib.use("Agg")
    if threads is not None:
        torch.set_num_threads(threads)
    np_dtype = np.float32 if dtype == "float32" else np.float64
    targets = "labels" if loss == "cross_entropy" else "onehot"
    kwargs = {"root": root, "n": n_examples, "seed": seed, "dtype": np_dtype, "as_tensor": True}
    if dataset == "synthetic":
        kwargs["targets"] = "teacher"
    else:
        kwargs.update(targets=targets, classes=classes)
    try:
        X, Y = _data.load(dataset, **kwargs)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    dev = resolve_device(device)
    n_out = int(Y.max()) + 1 if Y.ndim == 1 else Y.shape[1]
    torch.manual_seed(seed)
    base = build_model(arch, tuple(X.shape[1:]), n_out, depth=depth, width=width, activation=activation, param=param,
                       init_scale=init_scale, norm=norm).to(dev, torch.float32 if dtype == "float32" else torch.float64)
    X, Y = X.to(dev), Y.to(dev)
    s0 = float(hessian_eigenvalues(base, loss, (X, Y), tol=1e-4, device=dev).eigenvalues[0])
    runs = [("lr", lr, lr) for lr in lrs] + [("c", c, c / s0) for c in (cs or ((1.0,) if not lrs else ()))]
    if minibatch_samples and batch_size is None:
        raise click.BadParameter("needs --batch-size", param_hint="--minibatch-samples")
    if lyapunov and optimizer not in ("gd", "sgd"):
        raise click.BadParameter("--lyapunov follows plain GD steps only", param_hint="--lyapunov")
    opt_kwargs = {}
    if optimizer not in ("gd", "sgd") or weight_decay:
        opt_kwargs = {"optimizer": optimizer, "optimizer_options": {
            "momentum": momentum, "beta1": beta1, "beta2": beta2, "eps": eps, "weight_decay": weight_decay}}
    out_dir.mkdir(parents=True, exist_ok=True)
    click.echo(f"[train] {arch} on {dataset} (n={X.shape[0]}), device {dev}, sharpness at init {s0:.4g}")
    trajectories, labels, summary = [], [], {"sharpness_init": s0, "optimizer": optimizer, "runs": []}
    for kind, value, lr in runs:
        model = copy.deepcopy(base)
        with tqdm(total=steps, desc=f"{kind}={value:g}", unit="step") as bar:
            tr = _train(model, (X, Y), lr=lr, steps=steps, loss=loss, sharpness_every=sharpness_every, eig_tol=eig_tol,
                        batch_size=batch_size, warmup_steps=warmup, seed=seed, lyapunov=lyapunov,
                        progress=lambda t: bar.update(1), minibatch_samples=minibatch_samples, **opt_kwargs)
        name = f"{kind}{value:g}"
        tr.save(out_dir / f"trajectory_{name}.{'npz' if fmt == 'npz' else 'nc'}")
        trajectories.append(tr)
        labels.append(f"{kind}={value:g} (lr={lr:.3g})")
        finite = tr.sharpness[np.isfinite(tr.sharpness)]
        summary["runs"].append({
            "label": name, "lr": lr, "regime": tr.regime(), "diverged": tr.diverged, "diverged_at": tr.diverged_at,
            "final_loss": float(tr.loss[np.isfinite(tr.loss)][-1]),
            "final_sharpness": float(finite[-1]) if finite.size else None,
            "final_edge_ratio": float(tr.edge_ratio[-1]) if finite.size else None,
            "threshold": float(tr.threshold[-1]) if tr.threshold is not None and len(tr.threshold) else None,
            **({f"final_minibatch_{k}": float(v[-1]) for k, v in tr.minibatch.items() if len(v)}
               if tr.minibatch else {}),
            "final_lyapunov": float(tr.lyapunov[-1]) if lyapunov and np.isfinite(tr.lyapunov[-1]) else None,
            "n_hvp": tr.n_hvp,
        })
        click.echo(f"[train] {name}: regime {summary['runs'][-1]['regime']}, "
                   f"final loss {summary['runs'][-1]['final_loss']:.4g}")
        if tr.interrupted_at >= 0:
            summary["interrupted"] = {"run": name, "at_step": tr.interrupted_at}
            click.echo(f"[train] interrupted at step {tr.interrupted_at} of {name}: finished steps and runs are saved")
            break
    fig = plot_training(trajectories, labels)
    fig.savefig(out_dir / "training.png", dpi=130)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    click.echo(f"[train] wrote {len(list(out_dir.iterdir()))} files to {out_dir}/")
