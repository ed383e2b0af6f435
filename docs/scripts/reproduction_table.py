"""Render the README's reproduction table from one or more ``claims.json`` files.

    python docs/scripts/reproduction_table.py full-run/claims.json quick-run/claims.json > table.md

Claims of later files are skipped when an earlier file already has the same section (so a
``--full`` run of some sections can be completed by a ``--quick`` run of the others)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sharpdyn.reproduce.claims import Claim

MARK = {True: "✔", False: "✘ (reported)", None: "—"}


def rows(paths: list[str], *, checked_only: bool = True) -> list[str]:
    """Table rows; ``checked_only`` leaves out the measurements the paper makes no claim about
    (they stay in index.html and claims.json)."""
    seen: set[str] = set()
    out = ["| section | claim | measured quantity | measured | target | pass | mode |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in paths:
        doc = json.loads(Path(path).read_text())
        mode = doc["config"]["mode"]
        sections = [s for s in doc["sections"] if s not in seen]
        for c in doc["claims"]:
            if c["section"] not in sections or (checked_only and c["passed"] is None):
                continue
            m = c["measured"]
            measured = f"{float(m):.6g}" if not isinstance(m, str) else m
            out.append(f"| {c['section']} | {c['statement']} | {c['quantity']} | {measured} | "
                       f"{Claim.from_dict(c).describe_target()} | "
                       f"{MARK[c['passed']]} | {mode} |")
        seen.update(sections)
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--all"]
    print("\n".join(rows(args, checked_only="--all" not in sys.argv[1:])))
