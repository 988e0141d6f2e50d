"""Log-log plot of seconds against flow variables from bench/run.py's JSON results.

    .venv/bin/python bench/plot.py bench/results.json docs/scaling.png

Needs matplotlib, which is a benchmark-only tool and not a dependency of the planner:
`.venv/bin/pip install matplotlib`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def plot(results_file: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(Path(results_file).read_text())
    rows = sorted(data["results"], key=lambda r: r["variables"])
    x = [r["variables"] for r in rows]
    series = [
        ("planner end to end (read ... write plan)", [r["total_seconds"] for r in rows],
         "o-", "tab:red"),
        ("planner model path (build + hand-over + solve + read-back)",
         [r["model_path_seconds"] for r in rows], "s-", "tab:blue"),
        ("HiGHS alone on the same LP", [r["highs"]["seconds"] for r in rows], "^-", "black"),
        ("planner's HiGHS run (independent blocks side by side)",
         [r["phases"]["solve"]["seconds"] for r in rows], "^--", "grey"),
        ("build (network + model)", [r["phases"]["build"]["seconds"] for r in rows], "d--",
         "tab:green"),
        ("hand-over + read-back", [r["phases"]["hand-over"]["seconds"]
                                   + r["phases"]["read-back"]["seconds"] for r in rows], "v--",
         "tab:purple"),
        ("read + validate", [r["phases"]["read"]["seconds"] + r["phases"]["validate"]["seconds"]
                             for r in rows], "x--", "tab:orange"),
        ("report + write plan", [r["phases"]["report"]["seconds"]
                                 + r["phases"]["write plan"]["seconds"] for r in rows], "+--",
         "tab:brown"),
    ]
    fig, ax = plt.subplots(figsize=(8.5, 5.5), dpi=120)
    for name, y, style, color in series:
        ax.loglog(x, [max(v, 1e-3) for v in y], style, label=name, color=color, markersize=5)
    lo, hi = x[0], x[-1]
    ref = rows[-1]["highs"]["seconds"]
    ax.loglog([lo, hi], [ref * lo / hi, ref], ":", color="grey", label="slope 1 (linear)")
    ax.set_xlabel("flow variables")
    ax.set_ylabel("seconds (wall clock)")
    m = data.get("machine", {})
    ax.set_title(f"planner scaling: {m.get('cores', '?')} cores, {m.get('cpu', '')[:40]}, "
                 f"{m.get('date', '')[:10]}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


if __name__ == "__main__":
    plot(Path(sys.argv[1]), Path(sys.argv[2]))
