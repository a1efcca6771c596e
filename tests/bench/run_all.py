"""Run every benchmark script (bench_*.py) and write RESULTS.md with the machine and command.

Each script prints its own figures next to a baseline measured in the same run;
nothing here asserts timings. Usage: `make bench` or
`python tests/bench/run_all.py [NAME ...]` to run a subset.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    sections = []
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.monotonic()
        res = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                             text=True, timeout=900)
        took = time.monotonic() - start
        sys.stdout.write(res.stdout)
        if res.returncode != 0:
            failed += 1
            sys.stdout.write(res.stderr[-4000:])
        status = "ok" if res.returncode == 0 else f"FAILED (exit {res.returncode})"
        body = res.stdout.strip()
        sections.append(f"## {script.name} — {status}, {took:.0f} s\n\n```\n{body}\n```\n")
    if not argv:
        (HERE / "RESULTS.md").write_text(
            "# Benchmark results\n\n"
            f"- when: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n"
            f"- machine: {machine()}\n"
            "- command: `make bench` (runs `python tests/bench/run_all.py`)\n\n"
            "Figures are printed next to a baseline measured in the same run; targets are "
            "from the issues.\n\n" + "\n".join(sections)
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
