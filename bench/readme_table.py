"""Render the README's performance table from a suite run's results.json.

    python bench/readme_table.py bench/results/results.json --out bench/README_table.md
    python bench/readme_table.py RUN1/results.json RUN2/results.json ...   # several runs, one table each

The table lists every headline ratio the areas recorded (sharpdyn against the named baseline,
measured in the same process), with the issue's targets where there are any, under one line
naming the machine and the run. Nothing is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def _ratio(h: dict) -> str:
    r = h["ratio"]
    if not math.isfinite(r):
        return "n/a"
    text = f"{r:.2f}" if r < 10 else f"{r:.0f}"
    unit = h["unit"]
    return text + ("×" if unit.startswith("x") else unit) + (" (lower is better)" if "lower" in unit else "")


def render_many(docs: list[dict]) -> str:
    """One table per run, in the given order."""
    return "\n".join(render(d) for d in docs)


def render(doc: dict) -> str:
    m = doc["machine"]
    gpu = m.get("gpu") or "no GPU"
    run = "`python -m bench" + (" --quick`" if doc["quick"] else "`")
    lines = [
        f"Measured by {run} on {m['cpu']} ({m['cores']} cores, kernels' default ISA `{m['kernel_isa_default']}`, "
        f"{gpu}), {m['started_utc'][:16].replace('T', ' ')} UTC, load average "
        f"{m['load_average_start'][0]:.1f} at the start; torch {m['versions'].get('torch')}, numpy "
        f"{m['versions'].get('numpy')}. Ratios of medians of interleaved repeats in one process; every "
        "implementation's agreement with the others is asserted (results.md lists the checks).",
        "",
        "| area | comparison | sharpdyn vs baseline | target (issue #13) |",
        "| --- | --- | --- | --- |",
    ]
    for name, area in doc["areas"].items():
        if area.get("error"):
            lines.append(f"| {name} | failed: {area['error']} | | |")
            continue
        for h in area["headlines"]:
            if h["target"] is None:
                target = ""
            else:
                target = f"{h['target']}: " + ("met" if h["met"] else "**missed**")
            lines.append(f"| {name} | {h['what']} | {_ratio(h)} | {target} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, nargs="+", help="results.json of one or more python -m bench runs")
    ap.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    args = ap.parse_args(argv)
    docs = []
    for path in args.results:
        try:
            docs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            ap.error(f"cannot read {path}: {exc}")
    table = render_many(docs)
    if args.out is None:
        sys.stdout.write(table)
    else:
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
