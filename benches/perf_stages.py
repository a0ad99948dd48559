#!/usr/bin/env python3
"""Where a race's CPU goes, by stage: folds `perf script` samples into stages. A sample goes to
the stage of its first frame (from the leaf upward) that matches a stage's pattern, so it is a
rough folding by function names, not an exact attribution; the shares are scaled to the CPU
per event that /usr/bin/time gave for the same load.

Usage:
  perf record -F 999 --call-graph dwarf,16384 -o X.data -- <the client command of a
      benches/per_event.sh row, as it prints it, with a shorter -d>
  perf script -i X.data | benches/perf_stages.py US_PER_EVENT
"""
import sys, re, collections
STAGES = [
 ("replay compress", r"zlib_rs|llmrace-replay|compress::"),
 ("replay encode", r"record::replay|ReplayWriter|serde_json::ser"),
 ("records", r"record::results|requests_jsonl|record::recorder"),
 ("snapshot publish", r"stats::snapshot|Snapshot|RequestView|stats::recent"),
 ("aggregator", r"stats::|Aggregator"),
 ("event channel", r"mpsc|chan::|UnboundedSender|pipeline::"),
 ("decode", r"protocol::|StreamState|decode::"),
 ("recvmsg", r"recvmsg|tcp_|ip_|skb|sock|net_|dev_|receive_into|rx_time|TimedStream"),
 ("hyper", r"hyper::|hyper_util|http_body"),
 ("epoll/io driver", r"epoll|io::driver|Driver::turn"),
 ("futex/park", r"futex|park|unpark|Condvar"),
 ("timers", r"tokio::time|sleep|Sleep|timer|Timer"),
 ("tokio sched", r"tokio::runtime|waker|Waker|schedule"),
 ("engine", r"engine::|llmrace::"),
]
STAGES = [(n, re.compile(p)) for n, p in STAGES]
per_event = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
counts = collections.Counter(); kernel = collections.Counter(); total = 0
sample = []; comm = ""
def flush():
    global total
    if not sample: return
    total += 1
    k = "[kernel" in sample[0]
    frames = [comm] + sample if "replay" in comm else sample
    for f in frames:
        for name, pat in STAGES:
            if pat.search(f):
                counts[name] += 1; kernel[name] += k; return
    counts["other"] += 1; kernel["other"] += k
for line in sys.stdin:
    if not line.strip():
        flush(); sample = []; continue
    if not line.startswith((" ", "\t")):
        comm = line.split()[0]; continue
    sample.append(line.strip())
flush()
print(f"{total} samples; µs/event scaled to {per_event}")
for name, c in counts.most_common():
    print(f"{name:18} {100*c/total:5.1f}%  {per_event*c/total:5.2f} µs  (kernel {per_event*kernel[name]/total:4.2f})")
