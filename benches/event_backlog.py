#!/usr/bin/env python3
"""Event backlog: how far the pipeline (statistics and recorder, on a thread of its own) falls
behind the engine's workers at 1000 streams, read from each race's run.json.

`llmrace mock` pinned to core 1; `llmrace race` at 1000 streams (one OpenAI endpoint, text
capture and replay on, as a user runs it) pinned to core 0, so its workers, its pipeline and
its dashboard share one core. A fresh mock serves each run. Three mock profiles:
  flood   instant,tokens=256,chunk=1           no delays: what is due comes in one write, so
                                               one read carries many tokens (few events)
  paced   steady,ttft=200ms,itl=20ms,tokens=50 a token every 20 ms per stream (~50 k/s asked)
  fast    steady,ttft=50ms,itl=2ms,tokens=256  a token every 2 ms per stream (~500 k/s asked:
                                               more than the mock and client can, so the
                                               most events the client takes in)
Two loads: as the machine is, and with HOGS extra `yes >/dev/null` on each core ("+hogs").
Two views: headless (`-q`) and the dashboard in a 120x40 tmux pane.

Per run it prints run.json's `event_backlog_max` (the most events waiting at once, at a drain)
and `event_backlog_age_max_ms` (the longest content waited from its kernel stamp to the
drain), the read and runtime lateness beside them, the race's events (replay lines) per second,
the client's CPU time (user + sys, the whole process) per event, its peak memory, and the load
average when it began.

Usage: benches/event_backlog.py [RUNS] [PROFILES] [LOADS] [VIEWS]
       defaults: 1 "flood paced fast" "busy hogs" "headless dashboard"
       (build first: cargo build --release; LLMRACE=path overrides the binary;
       BACKLOG_PORT=N the mock's port, 18282 by default; HOGS=N hogs per core, 2 by default)
"""

import gzip
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(os.environ.get("LLMRACE", "target/release/llmrace"))
PORT = int(os.environ.get("BACKLOG_PORT", "18282"))
HOGS = int(os.environ.get("HOGS", "2"))
STREAMS = 1000
PROFILES = {
    # (mock profile, requests, max tokens)
    "flood": ("instant,tokens=256,chunk=1", 4000, 256),
    "paced": ("steady,ttft=200ms,itl=20ms,tokens=50", 4000, 50),
    "fast": ("steady,ttft=50ms,itl=2ms,tokens=256", 4000, 256),
}


def race_args(out, requests, tokens):
    return ["-e", f"m=openai:http://127.0.0.1:{PORT}/v1#m", "-c", str(STREAMS),
            "-n", str(requests), "--max-tokens", str(tokens), "-o", out]


def headless(out, requests, tokens):
    subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", out + ".time",
                    "taskset", "-c", "0", BIN, "race", "-q", *race_args(out, requests, tokens)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def dashboard(out, requests, tokens):
    """The dashboard draws in a tmux pane until the race's files are written, then quits."""
    session = f"llmrace-backlog-{os.getpid()}"
    command = shlex.join(["/usr/bin/time", "-f", "%M %U %S", "-o", out + ".time", "taskset", "-c", "0",
                        BIN, "race", *race_args(out, requests, tokens)])
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                    command], check=True)
    try:
        deadline = time.time() + 300
        while not os.path.exists(os.path.join(out, "run.json")) and time.time() < deadline:
            if subprocess.run(["tmux", "has-session", "-t", session],
                              stderr=subprocess.DEVNULL).returncode != 0:
                raise RuntimeError(f"the race in tmux ended without {out}/run.json")
            time.sleep(0.2)
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
        while time.time() < deadline and subprocess.run(
                ["tmux", "has-session", "-t", session], stderr=subprocess.DEVNULL).returncode == 0:
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL,
                       check=False)


def one_run(profile, load, view):
    spec, requests, tokens = PROFILES[profile]
    mock = subprocess.Popen(
        ["taskset", "-c", "1", BIN, "mock", "--port", str(PORT), "--profile", spec],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hogs = []
    if load == "hogs":
        hogs = [subprocess.Popen(["taskset", "-c", str(core), "yes"], stdout=subprocess.DEVNULL)
                for core in (0, 1) for _ in range(HOGS)]
    tmp = tempfile.mkdtemp()
    try:
        time.sleep(1)
        loadavg = os.getloadavg()[0]
        out = os.path.join(tmp, "race")
        (dashboard if view == "dashboard" else headless)(out, requests, tokens)
        with open(os.path.join(out, "run.json")) as f:
            run = json.load(f)
        with open(os.path.join(out, "summary.json")) as f:
            endpoint = json.load(f)["endpoints"][0]
        with open(out + ".time") as f:
            peak_kb, user, system = f.read().split()[-3:]
        with gzip.open(os.path.join(out, "replay.jsonl.gz"), "rb") as f:
            # Every line but the header and the end line is an event.
            events = sum(1 for _ in f) - 2
    finally:
        for hog in hogs:
            hog.kill()
        mock.kill()
        for process in [mock, *hogs]:
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "profile": profile, "load": load, "view": view, "loadavg": loadavg,
        "backlog": run.get("event_backlog_max"), "age_ms": run.get("event_backlog_age_max_ms"),
        "read_late_ms": run.get("read_late_max_ms"), "runtime_late_ms": run.get("runtime_late_max_ms"),
        "events_per_s": events / run["duration_s"], "peak_mb": int(peak_kb) / 1024,
        "cpu_us_per_event": (float(user) + float(system)) / events * 1e6,
        "ok": endpoint["counts"]["succeeded"],
    }


def cell(value, fmt):
    return "—" if value is None else fmt.format(value)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    profiles = (sys.argv[2] if len(sys.argv) > 2 else "flood paced fast").split()
    loads = (sys.argv[3] if len(sys.argv) > 3 else "busy hogs").split()
    views = (sys.argv[4] if len(sys.argv) > 4 else "headless dashboard").split()
    rows = []
    for profile in profiles:
        for load in loads:
            for view in views:
                for _ in range(runs):
                    row = one_run(profile, load, view)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    print()
    print("| mock | load | view | load avg | backlog max (events) | oldest content's age, max "
          "| read late max | runtime late max | events/s | client CPU / event | peak memory | ok |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['profile']} | {r['load']} | {r['view']} | {r['loadavg']:.1f} "
              f"| {cell(r['backlog'], '{:,}')} | {cell(r['age_ms'], '{:.1f} ms')} "
              f"| {cell(r['read_late_ms'], '{:.1f} ms')} | {cell(r['runtime_late_ms'], '{:.1f} ms')} "
              f"| {r['events_per_s']:,.0f} | {r['cpu_us_per_event']:.1f} µs "
              f"| {r['peak_mb']:.0f} MB | {r['ok']} |")


if __name__ == "__main__":
    main()
