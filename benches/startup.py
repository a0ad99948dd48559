#!/usr/bin/env python3
"""Start-up: from exec of `llmrace race` to its first request arriving at the mock.

`llmrace mock` (instant, 8 tokens) runs pinned to core 1; each run starts a fresh mock (so its
`GET /mock/stats` holds that run's first arrivals), notes the wall clock, and execs a headless
`llmrace race -n 1 -c 1` pinned to core 0. The mock stamps the wall clock when the first
request of any kind reads in (with warm connections, the warm-up `GET /v1/models`) and when
the first generation request does; both minus the exec time are printed, the median and range
over RUNS runs. The first run is a warm-up (page cache) and is left out.

Usage: benches/startup.py [RUNS]   default 10 (build first: cargo build --release;
       LLMRACE=path overrides the binary)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("LLMRACE", str(ROOT / "target/release/llmrace"))
PORT = 18082


def one_run(workdir, warm):
    log_path = workdir / "mock.log"
    with open(log_path, "w") as log:
        mock = subprocess.Popen(
            ["taskset", "-c", "1", BIN, "mock", "--port", str(PORT), "--profile",
             "instant,tokens=8"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if "listening" in log_path.read_text():
                break
            time.sleep(0.05)
        else:
            sys.exit(f"the mock did not start: {log_path.read_text()}")
        cmd = ["taskset", "-c", "0", BIN, "race", "-q",
               "-e", f"a=openai:http://127.0.0.1:{PORT}/v1#m", "-n", "1", "-c", "1",
               "-o", str(workdir / "race")]
        if not warm:
            cmd.append("--no-warm-connections")
        # taskset execs llmrace in place: the exec time is this one, give or take taskset's
        # own exec (well under a millisecond).
        exec_us = time.time_ns() // 1000
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        done_us = time.time_ns() // 1000
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/mock/stats") as r:
            stats = json.load(r)
    finally:
        mock.terminate()
        mock.wait()
    return ((stats["first_request_unix_us"] - exec_us) / 1000,
            (stats["first_generation_unix_us"] - exec_us) / 1000,
            (done_us - exec_us) / 1000)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        one_run(workdir, True)
        print("| connections | exec → first request at the mock | exec → first generation request | exec → exit (1 request of 8 tokens, result files written) |")
        print("|---|---|---|---|")
        for warm in (True, False):
            results = [one_run(workdir, warm) for _ in range(runs)]
            cells = []
            for values in zip(*results):
                cells.append(f"{statistics.median(values):.1f} ms "
                             f"({min(values):.1f}–{max(values):.1f})")
            mode = "warmed first" if warm else "--no-warm-connections"
            print(f"| {mode} | " + " | ".join(cells) + " |")
    print(f"\nmedian (min–max) of {runs} runs")


if __name__ == "__main__":
    main()
