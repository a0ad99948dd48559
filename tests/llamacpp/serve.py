"""Starts llama.cpp's own HTTP server (through PyPI's xllamacpp) on 127.0.0.1 with a tiny
random-weight model, prints `listening URL` and serves until stdin closes or it is killed.

Usage: python3 serve.py [--port N] [--parallel N] [--model PATH] [--metrics]
--metrics turns on the server's Prometheus page, GET /metrics (off in llama.cpp by default).
Without --model, the tiny model is written to a temporary folder, removed when it stops.
"""

import argparse
import os
import shutil
import sys
import tempfile

import xllamacpp as xlc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_gguf  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--model")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--metrics", action="store_true")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="llmrace-llamacpp-")
    model = args.model or os.path.join(folder, "tiny.gguf")
    if not args.model:
        tiny_gguf.main(model)
    params = xlc.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = 4096 * args.parallel
    # The model is tiny: one thread each, and no spinning, on a machine of two shared cores.
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = 1
        cpu.poll = 0
    params.warmup = False
    params.endpoint_metrics = args.metrics
    server = xlc.Server(params)
    print("listening", server.listening_address, flush=True)
    # Serve until whoever started us closes our stdin (or kills us), then leave at once:
    # there is nothing to save, and the server's threads need no goodbye.
    sys.stdin.read()
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


if __name__ == "__main__":
    main()
