"""``make bench``: the lake's ingest road against bare pyarrow and DuckDB, each in a process of its own.

On generated inputs (canonical NDJSON and CSV raw files, a gzip change batch of the stream exporter),
each approach runs in a fresh process (``bench/approaches.py``): the road through ``txdagster
ingest``, bare pyarrow (explicit-schema read + zstd write: the anchor the targets are set against)
and DuckDB (read + COPY to zstd Parquet). Each approach runs ``--repeat`` times, in rounds that run
each approach once, so that a noisy neighbour hits every approach alike, and each round starts with
the next approach in turn; each figure is the best run (medians beside them).

The verdict on a speed target is the median of the rounds' ratios: each round runs the road and both
anchors back to back, so their ratio sees one state of the machine (on a shared machine the best runs'
ratio mostly measures the anchor's luck; docs/bench/README.md has the history). Beside rows/s each
approach shows MB/s of input and MB/s per core (the input over the CPU seconds of every thread).

Then the road on N and 3N NDJSON rows shows that its peak memory does not follow the file. With
``--profile PATH`` the road runs once more per input under py-spy, and where its time goes is written
to PATH (``bench/profile.py``). No assertions: the figures are for people and for tracking over time
(``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.inputs import KINDS, write
from bench.profile import profile

ROOT = Path(__file__).resolve().parents[1]
APPROACHES = ("road", "pyarrow", "duckdb")
#: the road's speed over each anchor's, round by round (issue 21)
TARGETS = {
    "ndjson": {"pyarrow": 1.5, "duckdb": 1.0},
    "csv": {"pyarrow": 1.5, "duckdb": 1.0},
    "changes": {"pyarrow": 1.2},
}
MEMORY_TARGET = 1.1  # peak RSS on a 3x larger file, over the smaller one's


def _run(approach: str, kind: str, source: Path, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.approaches", approach, kind, str(source), str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"{approach} on {kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _best(runs: list[dict], megabytes: float) -> dict:
    best = min(runs, key=lambda r: r["seconds"])
    seconds = sorted(r["seconds"] for r in runs)
    return {
        **best,
        "rows_per_s": round(best["rows"] / best["seconds"]),
        "mb_per_s": round(megabytes / best["seconds"], 1),
        "mb_per_s_per_core": round(megabytes / best["cpu_seconds"], 1),
        "runs_seconds": [r["seconds"] for r in runs],
        "median_rows_per_s": round(best["rows"] / seconds[len(seconds) // 2]),
    }


def _verdicts(kind: str, runs: dict[str, list[dict]], road_entry: dict) -> None:
    """Each target's verdict: the median of the rounds' ratios (the anchor's seconds over the road's)."""
    road_entry["targets"] = {}
    for anchor, target in TARGETS[kind].items():
        paired = sorted(a["seconds"] / r["seconds"] for r, a in zip(runs["road"], runs[anchor], strict=True))
        by_round = statistics.median(paired)
        met = by_round >= target
        road_entry["targets"][anchor] = {
            "target": target,
            "paired_ratios": [round(x, 3) for x in paired],
            "paired_median": round(by_round, 3),
            "met": met,
        }
        print(
            f"{'':<9}target: road >= {target}x {anchor}, round by round: median {by_round:.3f}x, "
            f"{'met' if met else 'NOT met'} ({paired[0]:.2f}-{paired[-1]:.2f}x)"
        )


def _rotated(approaches: tuple[str, ...], attempt: int) -> tuple[str, ...]:
    """The approaches in the order round ``attempt`` runs them: each goes first in turn, so that none
    always starts right after the same other one (the state a process finds the machine in, its memory
    above all, depends on the process before it)."""
    shift = attempt % len(approaches)
    return approaches[shift:] + approaches[:shift]


def compare(rows: int, repeat: int, folder: Path, profiles: list[str] | None = None) -> list[dict]:
    """Every approach on every input; with ``profiles``, the road's profile on each input is added there."""
    results = []
    print(f"{rows:,} rows per input, {repeat} rounds (figures: the best run), each run in a process of its own")
    print("x pyarrow, x duckdb: the best runs' ratios; the verdicts below each input are judged round by round")
    print(
        f"{'input':<9}{'approach':<10}{'rows/s':>12}{'MB/s':>8}{'MB/s/core':>11}{'x pyarrow':>11}{'x duckdb':>10}"
        f"{'peak RSS MB':>13}{'median rows/s':>15}"
    )
    for kind in KINDS:
        source = write(kind, rows, folder)
        megabytes = source.stat().st_size / 1e6
        os.sync()  # the new input written back before the first round, which would otherwise compete with it
        runs: dict[str, list[dict]] = {a: [] for a in APPROACHES}
        for attempt in range(repeat):
            for approach in _rotated(APPROACHES, attempt):
                runs[approach].append(_run(approach, kind, source, folder / f"out-{kind}-{approach}-{attempt}"))
        best = {a: _best(r, megabytes) for a, r in runs.items()}
        for approach in APPROACHES:
            figure = best[approach]
            ratios = {a: figure["rows_per_s"] / best[a]["rows_per_s"] for a in ("pyarrow", "duckdb")}
            print(
                f"{kind:<9}{approach:<10}{figure['rows_per_s']:>12,}{figure['mb_per_s']:>8,.0f}"
                f"{figure['mb_per_s_per_core']:>11,.0f}{ratios['pyarrow']:>10.2f}x{ratios['duckdb']:>9.2f}x"
                f"{figure['peak_rss_mb']:>13,}{figure['median_rows_per_s']:>15,}"
            )
            results.append(
                {
                    "input": kind,
                    "approach": approach,
                    "input_mb": round(megabytes, 1),
                    **figure,
                    **{f"ratio_to_{a}": round(r, 3) for a, r in ratios.items()},
                }
            )
        road_entry = next(e for e in results if e["input"] == kind and e["approach"] == "road")
        _verdicts(kind, runs, road_entry)
        if profiles is not None:
            profiles.append(profile(kind, source, folder))
        source.unlink()
    return results


def memory(rows: int, folder: Path) -> dict:
    """The road on N and 3N NDJSON rows, each in a process of its own."""
    runs = []
    for n in (rows, 3 * rows):
        source = write("ndjson", n, folder, seed=3)
        os.sync()
        runs.append(_run("road", "ndjson", source, folder / f"memory-{n}"))
        source.unlink()
        print(f"road on {n:>10,} NDJSON rows: {runs[-1]['seconds']:>6.2f} s, peak RSS {runs[-1]['peak_rss_mb']:,} MB")
    ratio = runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    verdict = "met" if ratio <= MEMORY_TARGET else "NOT met"
    print(f"peak RSS on a 3x larger file: {ratio:.2f}x (target <= {MEMORY_TARGET}x), {verdict}")
    return {"runs": runs, "ratio": round(ratio, 3), "target": MEMORY_TARGET}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per input (default 1000000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs (rounds) per approach (default 7)")
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the memory run, and 3x that")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--profile", metavar="PATH", help="profile the road once per input (py-spy), into PATH")
    args = parser.parse_args()
    profiles: list[str] | None = [] if args.profile else None
    with tempfile.TemporaryDirectory(prefix="txd-bench-") as work:
        figures = {
            "rows": args.rows,
            "repeat": args.repeat,
            "targets": TARGETS,
            "approaches": compare(args.rows, args.repeat, Path(work), profiles),
            "memory": memory(args.memory_rows, Path(work)),
        }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")
    if args.profile and profiles is not None:
        title = f"# Where the road's time goes, {args.rows:,} rows per input (`python -m bench --profile`)"
        Path(args.profile).parent.mkdir(parents=True, exist_ok=True)
        Path(args.profile).write_text("\n\n".join([title, *profiles]) + "\n")
        print(f"the road's profile written to {args.profile}")


if __name__ == "__main__":
    main()
