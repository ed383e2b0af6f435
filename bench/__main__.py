"""Run the sharpdyn benchmark suite: every benchmark side by side with its baselines.

    python -m bench                      # full run (minutes to an hour), writes bench/results/
    python -m bench --quick              # every area at small sizes (CI): still asserts agreement
    python -m bench --only hvp eig       # some areas
    python -m bench --out DIR            # write DIR/results.json and DIR/results.md
    python -m bench --mnist PATH         # real MNIST (IDX files) for the network benchmarks

Run from the repository root. Exits 1 if any area failed or any implementations disagreed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, few repeats: minutes (CI)")
    ap.add_argument("--only", nargs="+", choices=list(suite.AREAS), metavar="AREA",
                    help=f"areas to run (default all): {', '.join(suite.AREAS)}")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                    help="output folder (default bench/results)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 2 quick, 5 full)")
    ap.add_argument("--seeds", type=int, default=None,
                    help="random starts for the eigenvalue spreads (default 1 quick, 3 full)")
    ap.add_argument("--nets", nargs="+", choices=("mlp", "cnn", "resnet"), default=None,
                    help="networks of the hvp / eig / tracking areas (default all)")
    ap.add_argument("--min-sample", type=float, default=None, metavar="SECONDS",
                    help="shortest timed sample of the kernel areas; shorter calls are repeated within a sample "
                         "(default 0.01 quick, 0.25 full)")
    ap.add_argument("--mnist", type=Path, default=None,
                    help="folder with the MNIST IDX files (default: the subset shipped in tests/data/mnist for "
                         "full runs when present, else, and with --quick, the scikit-learn digits, 8x8)")
    args = ap.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.seeds is not None and args.seeds < 1:
        ap.error("--seeds must be >= 1")
    if args.min_sample is not None and not (args.min_sample >= 0 and args.min_sample < 60):
        ap.error("--min-sample must be in [0, 60) seconds")
    if args.mnist is not None and not args.mnist.is_dir():
        ap.error(f"--mnist: {args.mnist} is not a folder")
    shipped = Path(__file__).resolve().parents[1] / "tests" / "data" / "mnist"
    if args.mnist is None and not args.quick and shipped.is_dir():
        args.mnist = shipped
    ctx = suite.Context(quick=args.quick, repeats=args.repeats or (2 if args.quick else 5),
                        mnist=args.mnist, seeds=args.seeds or (1 if args.quick else 3),
                        nets=tuple(args.nets or ("mlp", "cnn", "resnet")),
                        min_sample_s=args.min_sample if args.min_sample is not None else (0.01 if args.quick else 0.25))
    names = args.only or list(suite.AREAS)
    doc = suite.run_areas(names, ctx, log=lambda s: print(s, file=sys.stderr, flush=True),
                          after_each=lambda partial: suite.write(partial, args.out))  # kept if interrupted
    js, md = suite.write(doc, args.out)
    print(f"wrote {js} and {md}; {'all agreed' if doc['ok'] else 'FAILURES: see results.md'}")
    return 0 if doc["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
