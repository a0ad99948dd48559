#!/usr/bin/env python3
"""Late reads: what a client that falls behind reading does to TTFT, and whether it says so.

Issue 15's case: `llmrace mock` with fixed delays (TTFT 100 ms, 20 ms between tokens, 20
tokens) pinned to core 1; a headless `llmrace race` at 1000 streams (3000 requests) pinned to
core 0, beside a process that keeps half of core 0 busy (10 ms on, 10 ms off). A fresh mock
serves each run.

Per request, the client's requests.jsonl is joined with the mock's own record of when it wrote
the first token (`GET /mock/stats`, through the response id `chatcmpl-mock-<n>`):
  client-added = client TTFT - (mock wrote the first token - request reached the mock)
and, for a request marked `batched_first_token`, whether the mock's truth lies within the
bound the record gives, [ttft_min_ms, ttft_ms].

Prints, per run: TTFT, client-added TTFT for requests whose first token was read alone and
for those read with later tokens, the share of the latter, how many bounds held, the client's
read lateness (requests.jsonl `read_late_max_ms`, run.json's largest), and the notices.

Usage: benches/late_reads.py [RUNS] [hog|nohog]   defaults: 1, hog
       (build first: cargo build --release; LLMRACE=path overrides the binary;
       LATE_READS_PORT=N the mock's port, 18181 by default)
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.environ.get("LLMRACE", "target/release/llmrace")
PORT = int(os.environ.get("LATE_READS_PORT", "18181"))
PROFILE = "instant,ttft=100ms,itl=20ms,tokens=20"
HOG = """
import time
while True:
    t = time.time()
    while time.time() - t < 0.01:
        pass
    time.sleep(0.01)
"""


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def spread(values):
    return f"p50 {pct(values, 50):.2f}, p99 {pct(values, 99):.2f}, max {max(values, default=float('nan')):.2f}"


def one_run(hog):
    mock = subprocess.Popen(
        ["taskset", "-c", "1", BIN, "mock", "--port", str(PORT), "--profile", PROFILE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    busy = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", HOG]) if hog else None
    try:
        time.sleep(1)
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                ["taskset", "-c", "0", BIN, "race", "-q", "--headless", "-o", out,
                 "-e", f"m=openai:http://127.0.0.1:{PORT}/v1#m",
                 "-c", "1000", "-n", "3000", "--max-tokens", "20"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/mock/stats") as answer:
                mock_stats = json.load(answer)
            with open(os.path.join(out, "requests.jsonl")) as f:
                records = [json.loads(line) for line in f]
            with open(os.path.join(out, "run.json")) as f:
                run = json.load(f)
    finally:
        if busy:
            busy.kill()
        mock.kill()
    truth = {r["request"]: (r["written_us"] - r["arrived_us"]) / 1000 for r in mock_stats["recent"]}
    ok = [r for r in records if r["outcome"] == "succeeded" and r.get("ttft_ms") is not None]
    alone, together, held = [], [], 0
    for r in ok:
        n = int((r.get("response_id") or "-0").rsplit("-", 1)[1])
        if n not in truth:
            continue
        added = r["ttft_ms"] - truth[n]
        if r.get("batched_first_token"):
            together.append(added)
            held += r["ttft_min_ms"] - 0.01 <= truth[n] <= r["ttft_ms"] + 0.01
        else:
            alone.append(added)
    late = [r.get("read_late_max_ms") or 0.0 for r in ok]
    print(f"- {len(ok)}/{len(records)} succeeded; TTFT {spread([r['ttft_ms'] for r in ok])} ms")
    print(f"- mock's own first-token lateness (us): {mock_stats['first_content_lateness_us']}")
    print(f"- client-added TTFT, first token read alone ({len(alone)}): {spread(alone)} ms")
    print(f"- client-added TTFT, first token read with later ones ({len(together)}, "
          f"{100 * len(together) / max(len(ok), 1):.1f}%): {spread(together)} ms; "
          f"truth within [ttft_min_ms, ttft_ms]: {held} of {len(together)}")
    print(f"- read lateness per request: {spread(late)} ms; run.json: {run.get('read_late_max_ms')}")
    for notice in run["notices"]:
        print(f"- notice: {notice}")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    hog = (sys.argv[2] if len(sys.argv) > 2 else "hog") == "hog"
    for i in range(runs):
        print(f"run {i + 1} ({'half a core busy beside the client' if hog else 'no other load'})")
        one_run(hog)


if __name__ == "__main__":
    main()
