"""How fast the CLI starts: `exhaust --help`, every `exhaust <cmd> --help`, and `exhaust status ID`.

Targets (issue 15): help ≤ 0.3 s, status ≤ 0.5 s (wall clock, mean; `cpu s` is user + system time,
which a loaded machine disturbs less). Uses hyperfine when installed
(`apt-get install hyperfine`), else times the runs itself. The job store is a fresh SQLite file with one
queued request, so `status` reads a real row and signs nothing. Bytecode is written (as an install has it),
even when PYTHONDONTWRITEBYTECODE is set.

    python bench/cli.py [--runs 10] [--warmup 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_TARGET, STATUS_TARGET = 0.3, 0.5


def exhaust_command() -> list[str]:
    found = shutil.which("exhaust", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "exhaust"]


def subcommands() -> list[list[str]]:
    from typer.main import get_command

    from exhaust.cli import app

    group = get_command(app)
    found: list[list[str]] = []
    for name, command in group.commands.items():
        subs = getattr(command, "commands", None)
        found += [[name, sub] for sub in subs] if subs else [[name]]
    return found


def measure(argv: list[str], runs: int, warmup: int, env: dict[str, str]) -> dict[str, float]:
    """Mean, min and max seconds of running `argv`."""
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as report:
            subprocess.run(
                ["hyperfine", "--runs", str(runs), "--warmup", str(warmup), "--ignore-failure",
                 "--style", "none", "--export-json", report.name, "-N", subprocess.list2cmdline(argv)],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
            result = json.loads(Path(report.name).read_text())["results"][0]
        cpu = result["user"] + result["system"]
        return {"mean": result["mean"], "min": result["min"], "max": result["max"], "cpu": cpu}
    times, cpu = [], []
    for index in range(warmup + runs):
        start, used = time.perf_counter(), os.times()
        subprocess.run(argv, env=env, capture_output=True)
        if index >= warmup:
            times.append(time.perf_counter() - start)
            after = os.times()
            cpu.append(
                after.children_user - used.children_user + after.children_system - used.children_system
            )
    return {"mean": statistics.mean(times), "min": min(times), "max": max(times), "cpu": statistics.mean(cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    exhaust = exhaust_command()
    with tempfile.TemporaryDirectory() as work:
        env = {**os.environ, "EXHAUST_DATA_DIR": work, "EXHAUST_SOURCE": f"{work}/demo"}
        # An installed package has its bytecode; a source checkout gets it on the warm-up runs.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # submit checks the batch exists (as the API does): a tiny demo data set has one.
        subprocess.run([*exhaust, "demo-data", "--learners", "20", "--out", f"{work}/demo"], env=env,
                       capture_output=True, check=True)  # fmt: skip
        request_id = subprocess.run(
            [*exhaust, "submit", "progress-exhaust", "--batch", "batch-demo-main"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        cases = [(["--help"], HELP_TARGET)]
        cases += [([*cmd, "--help"], HELP_TARGET) for cmd in subcommands()]
        cases += [(["status", request_id], STATUS_TARGET)]
        print(f"{'command':<42} {'mean s':>7} {'min s':>7} {'max s':>7} {'cpu s':>7}  target")
        base = measure([sys.executable, "-c", "pass"], args.runs, args.warmup, env)
        print(f"{'python -c pass (the floor)':<42} {base['mean']:7.3f} {base['min']:7.3f} {base['max']:7.3f} "
              f"{base['cpu']:7.3f}")  # fmt: skip
        missed = 0
        for argv, target in cases:
            took = measure([*exhaust, *argv], args.runs, args.warmup, env)
            ok = took["mean"] <= target
            missed += not ok
            shown = "exhaust " + " ".join(a if a != request_id else "ID" for a in argv)
            print(f"{shown:<42} {took['mean']:7.3f} {took['min']:7.3f} {took['max']:7.3f} {took['cpu']:7.3f}  "
                  f"≤ {target} {'ok' if ok else 'MISSED'}")  # fmt: skip
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {missed} target(s) missed")


if __name__ == "__main__":
    main()
