#!/usr/bin/env python3
"""Accuracy: how much of the TTFT and ITL llmrace reports is llmrace's own doing.

`llmrace mock` with fixed delays (TTFT 200 ms, 20 ms between tokens, 50 tokens) runs pinned to
core 1; a headless `llmrace race` (one OpenAI endpoint) runs pinned to core 0, both on
127.0.0.1, at 1, 32, 256 and 1000 concurrent streams, with connections warmed before the start
and without (`--no-warm-connections`). A fresh mock serves each run, so its `GET /mock/stats`
holds exactly that run's requests.

Per request, the client's requests.jsonl is joined with the mock's own record through the
`x-request-id` the mock sent (`mock-<n>`):
  measured - intended  = client TTFT - 200 ms
  mock lateness        = when the mock wrote the first token - when it was due
  client-added         = client TTFT - (mock wrote the first token - request reached the mock)
"Reached" is the kernel's receive stamp of the request's bytes (Linux; elsewhere, when the
mock read them), so the mock's intake queue -- requests waiting for its one core to read them
-- counts as mock lateness, and its schedule (first token due at arrival + TTFT) starts there
too. The client-added error is what the client put on top of the server's own record: sending
the request, loopback both ways, reading and stamping the first token; the mock's lateness is
subtracted per request. ITL: measured - intended is every gap the client recorded minus
20 ms; the mock's lateness per write is only kept as a distribution (`write_lateness_us`), so
it is reported beside the ITL error rather than subtracted gap by gap.

Prints a Markdown table: for each mode and concurrency, the median over RUNS runs of each
statistic (min, p50, p99, max across that run's requests), with the range over the runs. A
negative client-added minimum would mean a request timed as sent after its answer was already
on its way.

Usage: benches/accuracy.py [RUNS] [CONCURRENCIES...]   defaults: 3, 1 32 256 1000
       (build first: cargo build --release; LLMRACE=path overrides the binary;
       ACCURACY_PROFILE=SPEC other mock delays, tokens=50 kept; ACCURACY_PORT=N the mock's
       port, 18081 by default)
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
# ACCURACY_PORT: another port, when another benchmark holds this one.
PORT = int(os.environ.get("ACCURACY_PORT", "18081"))
TTFT_MS, ITL_MS, TOKENS = 200, 20, 50
# ACCURACY_PROFILE swaps in other delays (e.g. with jitter: ttft=200ms~2ms,itl=20ms~1ms), so
# the streams drift apart instead of sending in waves; measured - intended is then nominal,
# the client-added error still exact.
PROFILE = os.environ.get("ACCURACY_PROFILE",
                         f"steady,ttft={TTFT_MS}ms,itl={ITL_MS}ms,tokens={TOKENS}")


def requests_for(streams):
    """Enough requests for a p99 worth reading, in a run of seconds, not minutes."""
    return {1: 20, 32: 320, 256: 1024}.get(streams, 2 * streams)


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def summary(values):
    return {"min": min(values), "p50": pct(values, 0.5), "p99": pct(values, 0.99),
            "max": max(values)}


def start_mock(workdir):
    log = open(workdir / "mock.log", "w")
    mock = subprocess.Popen(
        ["taskset", "-c", "1", BIN, "mock", "--port", str(PORT), "--profile", PROFILE],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        if "listening" in (workdir / "mock.log").read_text():
            return mock
        time.sleep(0.05)
    mock.kill()
    sys.exit(f"the mock did not start: {(workdir / 'mock.log').read_text()}")


def one_run(streams, warm, workdir):
    mock = start_mock(workdir)
    try:
        out = workdir / f"race-{streams}-{warm}"
        cmd = ["taskset", "-c", "0", BIN, "race", "-q",
               "-e", f"a=openai:http://127.0.0.1:{PORT}/v1#m",
               "-n", str(requests_for(streams)), "-c", str(streams),
               "--max-tokens", str(TOKENS), "-o", str(out)]
        if not warm:
            cmd.append("--no-warm-connections")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/mock/stats") as r:
            stats = json.load(r)
    finally:
        mock.terminate()
        mock.wait()
    by_seq = {r["request"]: r for r in stats["recent"]}
    ttft_err, mock_late, client_added, itl_err = [], [], [], []
    for line in open(out / "requests.jsonl"):
        req = json.loads(line)
        if req["outcome"] != "succeeded" or req.get("warmup"):
            continue
        seq = int(req["server_request_id"].removeprefix("mock-"))
        m = by_seq[seq]
        ttft_us = req["ttft_ms"] * 1000
        ttft_err.append(ttft_us - TTFT_MS * 1000)
        mock_late.append(m["written_us"] - m["due_us"])
        client_added.append(ttft_us - (m["written_us"] - m["arrived_us"]))
        itl_err.extend(g * 1000 - ITL_MS * 1000 for g in req["itl_ms"])
    if len(ttft_err) != requests_for(streams):
        sys.exit(f"{streams} streams: only {len(ttft_err)} requests succeeded and joined")
    return {
        "ttft measured - intended": summary(ttft_err),
        "mock first-token lateness": summary(mock_late),
        "client-added TTFT": summary(client_added),
        "ITL measured - intended": summary(itl_err),
        "mock write lateness": {k: stats["write_lateness_us"][k] for k in ("p50", "p99", "max")},
    }


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    levels = [int(a) for a in sys.argv[2:]] or [1, 32, 256, 1000]
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for warm in (True, False):
            for streams in levels:
                for run in range(runs):
                    result = one_run(streams, warm, workdir)
                    table.setdefault((warm, streams), []).append(result)
                    added = result["client-added TTFT"]
                    print(f"{'warm' if warm else 'cold'} c={streams:<4} run={run + 1} "
                          f"client-added TTFT p50 {ms(added['p50'])} p99 {ms(added['p99'])} "
                          f"max {ms(added['max'])} ms", flush=True)
    print()
    print(f"All in ms; median of {runs} runs (range over the runs). "
          f"Intended: TTFT {TTFT_MS} ms, ITL {ITL_MS} ms, {TOKENS} tokens.")
    print()
    names = list(next(iter(table.values()))[0].keys())
    print("| connections | streams | what | min | p50 | p99 | max |")
    print("|---|---|---|---|---|---|---|")
    for (warm, streams), results in table.items():
        for name in names:
            cells = []
            for q in ("min", "p50", "p99", "max"):
                vals = [r[name][q] for r in results if q in r[name]]
                if not vals:
                    # The mock keeps no minimum of its write lateness.
                    cells.append("—")
                    continue
                med = statistics.median(vals)
                cells.append(f"{ms(med)} ({ms(min(vals))}–{ms(max(vals))})")
            mode = "warm" if warm else "cold"
            print(f"| {mode} | {streams} | {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
