"""One prepared GPU check for sharpdyn.torch (run it when a CUDA machine is lent):

    python bench/cuda_check.py --out bench/results_cuda.md        # on a CUDA machine, ~1-2 minutes
    python bench/cuda_check.py --device cpu --quick                # CPU smoke run
    python -m bench --only cuda [--quick]     # in the suite: on CUDA when present, else the CPU smoke run

1. Agreement: the same Hessian-vector product of a small ResNet (CIFAR-sized synthetic batch,
   3x32x32 inputs, BatchNorm in explicit train mode) on the device and on the CPU, in float64
   (expected ~1e-12 relative) and float32 (~1e-5); the top eigenvalue by Lanczos on the device
   (float32) against the CPU (float64).
2. Timing on the device (float32, synchronised, median of repeats): gradient, HVP by double
   backward (recomputed), HVP with the cached gradient graph, HVP by forward-over-reverse
   (LayerNorm variant: BatchNorm's in-place buffer updates do not mix with torch.func), and
   the whole top-eigenvalue Lanczos. The ratios HVP/gradient are the numbers to commit.

Exits non-zero if an agreement check fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from sharpdyn.torch import HessianOperator, lanczos, models

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import Context, Report  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeat: int) -> float:
    fn()  # warm-up (kernels, caches, graphs)
    _sync(device)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(device: str = "cuda", quick: bool = False, seed: int = 0) -> dict:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("CUDA is not available here; run with --device cpu for a smoke run")
    n, width, repeat, side = (4, 2, 1, 12) if quick else (512, 16, 10, 32)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, side, side, generator=g)
    Y = torch.nn.functional.one_hot(torch.randint(0, 10, (n,), generator=g), 10).float()
    torch.manual_seed(seed)
    bn = models.resnet(3, 10, width=width, blocks=(1, 1, 1), norm="batchnorm")
    torch.manual_seed(seed)
    ln = models.resnet(3, 10, width=width, blocks=(1, 1, 1), norm="layernorm")
    report: dict = {"device": str(dev), "name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                    "torch": torch.__version__, "batch": n, "width": width, "side": side}

    # 1. agreement
    chunk = None if quick else 128
    op_dev64 = HessianOperator(bn, "mse", (X, Y), dtype="float64", device=dev, mode="train", chunk_size=chunk)
    op_cpu64 = HessianOperator(bn, "mse", (X, Y), dtype="float64", device="cpu", mode="train", chunk_size=chunk)
    op_dev32 = HessianOperator(bn, "mse", (X, Y), dtype="float32", device=dev, mode="train", chunk_size=chunk)
    v = torch.randn(op_cpu64.n_params, generator=g, dtype=torch.float64)
    ref = op_cpu64.matvec(v)
    scale = float(ref.norm())
    report["hvp_rel_diff_float64"] = float((op_dev64.matvec(v).cpu() - ref).norm()) / scale
    report["hvp_rel_diff_float32"] = float((op_dev32.matvec(v).cpu().double() - ref).norm()) / scale
    top_cpu = lanczos(op_cpu64, tol=1e-6 if quick else 1e-8, seed=seed)
    top_dev = lanczos(op_dev32, tol=1e-5, seed=seed)
    report["top_eigenvalue_cpu_float64"] = float(top_cpu.eigenvalues[0])
    report["top_eigenvalue_device_float32"] = float(top_dev.eigenvalues[0])
    report["top_rel_diff"] = abs(report["top_eigenvalue_device_float32"] / report["top_eigenvalue_cpu_float64"] - 1)

    # 2. timing (float32, whole batch in one chunk)
    op = HessianOperator(bn, "mse", (X, Y), dtype="float32", device=dev, mode="train")
    cached = HessianOperator(bn, "mse", (X, Y), dtype="float32", device=dev, mode="train", cache_graph=True)
    fwd = HessianOperator(ln, "mse", (X, Y), dtype="float32", device=dev, method="forward_over_reverse")
    ln_db = HessianOperator(ln, "mse", (X, Y), dtype="float32", device=dev)
    u = torch.randn(op.n_params, generator=g).to(dev)
    t_grad = _timed(op.loss_and_gradient, dev, repeat)
    timings = {
        "gradient (BatchNorm)": t_grad,
        "HVP double backward (BatchNorm)": _timed(lambda: op.matvec(u), dev, repeat),
        "HVP cached graph (BatchNorm)": _timed(lambda: cached.matvec(u), dev, repeat),
        "gradient (LayerNorm)": _timed(ln_db.loss_and_gradient, dev, repeat),
        "HVP double backward (LayerNorm)": _timed(lambda: ln_db.matvec(u), dev, repeat),
    }
    try:
        timings["HVP forward-over-reverse (LayerNorm)"] = _timed(lambda: fwd.matvec(u), dev, repeat)
    except RuntimeError as exc:  # report, do not hide
        report["forward_over_reverse_error"] = str(exc)[:300]
    t0 = time.perf_counter()
    res = lanczos(cached, tol=1e-4, eig_tol=1e-5, seed=seed)
    _sync(dev)
    timings["Lanczos top eigenvalue (cached graph)"] = time.perf_counter() - t0
    report["lanczos_n_hvp"] = res.n_matvec
    report["timings_s"] = timings
    report["ok"] = bool(report["hvp_rel_diff_float64"] < 1e-10 and report["hvp_rel_diff_float32"] < 1e-4
                        and report["top_rel_diff"] < 1e-4)
    return report


def suite(ctx: Context) -> Report:
    """Suite area ``cuda``: the check on the GPU when one is present (full size unless quick),
    else the CPU smoke run (quick sizes), recorded as figures and agreement checks."""
    cuda = torch.cuda.is_available()
    r = run("cuda" if cuda else "cpu", quick=ctx.quick or not cuda)
    rep = Report("cuda", f"Device check on {r['name']} (ResNet width {r['width']}, batch {r['batch']} of "
                 f"3x{r['side']}x{r['side']} inputs)")
    if not cuda:
        rep.notes.append("no CUDA device: CPU smoke run of the same checks (the device timings below are CPU ones)")
    rep.check("HVP device vs CPU, float64", r["hvp_rel_diff_float64"], 1e-10)
    rep.check("HVP device float32 vs CPU float64", r["hvp_rel_diff_float32"], 1e-4)
    rep.check("top eigenvalue device float32 vs CPU float64", r["top_rel_diff"], 1e-4)
    t = r["timings_s"]
    for k, sec in t.items():
        base = t["gradient (LayerNorm)"] if "LayerNorm" in k else t["gradient (BatchNorm)"]
        rep.add("time (median of repeats)", k, "seconds", sec, "s")
        rep.add("gradient-equivalents", k, "per gradient", sec / base, "gradients")
    rep.extra["report"] = r
    return rep


def markdown(r: dict) -> str:
    lines = [f"# CUDA check (bench/cuda_check.py) on {r['name']}", "",
             f"torch {r['torch']}, ResNet (width {r['width']}, 3 stages) on a synthetic batch of {r['batch']} "
             f"3x{r['side']}x{r['side']} inputs.", "",
             "| check | value |", "| --- | --- |",
             f"| HVP device vs CPU, float64 (relative) | {r['hvp_rel_diff_float64']:.1e} |",
             f"| HVP device float32 vs CPU float64 (relative) | {r['hvp_rel_diff_float32']:.1e} |",
             f"| top eigenvalue device float32 vs CPU float64 | {r['top_rel_diff']:.1e} |", "",
             "| operation (float32) | time (ms) | / gradient |", "| --- | --- | --- |"]
    t = r["timings_s"]
    for k, s in t.items():
        base = t["gradient (LayerNorm)"] if "LayerNorm" in k else t["gradient (BatchNorm)"]
        lines.append(f"| {k} | {1e3 * s:.2f} | {s / base:.2f} |")
    lines += ["", f"Lanczos used {r['lanczos_n_hvp']} HVPs. All agreement checks passed: {r['ok']}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rep = run(args.device, args.quick)
    print(json.dumps(rep, indent=2))
    print(markdown(rep))
    if args.out:
        args.out.write_text(markdown(rep))
    sys.exit(0 if rep["ok"] else 1)
