#!/usr/bin/env python3
"""Key press to frame: how long the dashboard takes to show the effect of a key while the
engine drives many concurrent streams. `llmrace mock` runs pinned to core 1; `llmrace` runs in
a 120x40 tmux pane pinned to core 0, racing one endpoint at the given concurrency. Each sample
sends `s` (cycle the leaderboard metric) and polls the pane until the leaderboard's title
changes. The time includes tmux's own send-keys and capture-pane round trips, measured
separately and printed, so the numbers are an upper bound for llmrace itself.

Usage: cargo build --release && benches/keypress_latency.py [CONCURRENCY] [SAMPLES]
PROFILE adds mock profile keys (later ones win), e.g. issue 22's 10 000 streams at 20 tokens/s
each, every event its own write: PROFILE=itl=50ms,delivery=per-event. PRIO=1 runs mock and
client at SCHED_FIFO priority 1 (chrt), as benches/per_event.sh does, where allowed.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

concurrency = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
samples = int(sys.argv[2]) if len(sys.argv) > 2 else 30
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.path.join(root, "target", "release", "llmrace")
port = "18090"
session = f"llmrace-keypress-{os.getpid()}"
out = tempfile.mkdtemp()

profile = "steady,ttft=100ms,itl=20ms,tokens=4000"
if os.environ.get("PROFILE"):
    profile += "," + os.environ["PROFILE"]
prio = ["chrt", "-f", "1"] if os.environ.get("PRIO") == "1" else []
mock = subprocess.Popen(
    [*prio, "taskset", "-c", "1", binary, "mock", "--port", port, "--profile", profile],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tmux(*args):
    # A tmux server of its own (its socket named for the session), started at the same priority
    # as the client: a starved tmux would time itself rather than llmrace.
    return subprocess.run([*prio, "tmux", "-L", session, *args], capture_output=True, text=True,
                          check=False).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", session)


def title(text):
    m = re.search(r"Leaderboard · ([^─]+?) ─", text)
    return m.group(1) if m else None


try:
    time.sleep(0.5)
    race = (f"{' '.join(prio)} taskset -c 0 {binary} -e a=openai:http://127.0.0.1:{port}/v1#m -n 10000000 "
            f"-c {concurrency} --max-tokens 4000 -o {out}/run")
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", race)
    deadline = time.time() + 60
    while f"{concurrency} in flight" not in screen():
        if time.time() > deadline:
            sys.exit("the race did not reach full concurrency:\n" + screen())
        time.sleep(0.2)
    time.sleep(2)
    overhead = []
    for _ in range(20):
        t0 = time.perf_counter()
        screen()
        overhead.append(time.perf_counter() - t0)
    latencies = []
    for _ in range(samples):
        before = title(screen())
        t0 = time.perf_counter()
        tmux("send-keys", "-t", session, "s")
        while title(screen()) == before:
            if time.perf_counter() - t0 > 5:
                sys.exit("no frame within 5 s")
        latencies.append(time.perf_counter() - t0)
        time.sleep(0.2)
    latencies.sort()
    overhead.sort()

    def q(xs, p):
        return xs[min(len(xs) - 1, int(p * (len(xs) - 1)))] * 1000

    print(f"concurrency {concurrency}: key press to frame median {q(latencies, 0.5):.1f} ms, "
          f"p90 {q(latencies, 0.9):.1f} ms, max {latencies[-1] * 1000:.1f} ms over {samples} presses; "
          f"one capture-pane takes {q(overhead, 0.5):.1f} ms")
    tmux("send-keys", "-t", session, "q")
finally:
    time.sleep(1)
    tmux("kill-server")
    mock.kill()
