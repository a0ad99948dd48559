#!/usr/bin/env python3
"""Builds the seed corpora in fuzz/corpus/<target>/ from the repository's fixtures.

Run from the repository root: python3 fuzz/seed.py. The saved corpora were grown from these
seeds by the fuzzer and then minimized with `cargo fuzz cmin`.
"""
import glob
import gzip
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def fixtures(protocol):
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/streams", protocol, "*"))):
        if not path.endswith((".stream", ".body")):
            continue
        with open(path, "rb") as f:
            yield os.path.basename(path), path.endswith(".stream"), f.read()


# The split seed byte: 7 gives pieces of 1 to 8 bytes, 63 pieces of up to 64.
for split in (7, 63):
    for protocol, target in [("openai", "openai_chat"), ("openai-completions", "openai_completions"),
                             ("anthropic", "anthropic"), ("ollama", "ollama"),
                             ("responses", "responses"), ("gemini", "gemini"), ("bedrock", "bedrock"),
                             ("openai-embeddings", "openai_embeddings")]:
        for name, stream, body in fixtures(protocol):
            put(target, f"{split}-{name}", bytes([1 if stream else 0, split]) + body)
            # Bedrock's frames are binary: neither SSE nor NDJSON.
            if stream and protocol != "bedrock":
                put("ndjson" if protocol == "ollama" else "sse", f"{protocol}-{split}-{name}",
                    bytes([split]) + body)

for path in glob.glob(os.path.join(ROOT, "tests/fixtures/config/*/*.toml")) + [
        os.path.join(ROOT, "assets/race.example.toml")]:
    with open(path, "rb") as f:
        put("race_file", os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path),
            f.read())

expressions = set()
for path in glob.glob(os.path.join(ROOT, "tests/fixtures/config/*/*.toml")) + [
        os.path.join(ROOT, "assets/race.example.toml"), os.path.join(ROOT, "README.md")]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if "fail_if" in line:
                expressions.update(re.findall(r'"([^"]*[<>=][^"]*)"', line))
expressions.update(["ttft.p95 > 800ms", "error_rate > 1%", "turbo: output_tps.p50 < 20",
                    "cost > $0.50", "tpot.p99 <= 50ms", "ttlt.max >= 2s"])
for i, expr in enumerate(sorted(expressions)):
    put("threshold", f"{i:02}", expr.encode())

# A small replay: the sample's header, its first events of each kind, and its end line.
with gzip.open(os.path.join(ROOT, "replays/demo.jsonl.gz"), "rb") as f:
    lines = f.read().splitlines(keepends=True)
kept, kinds = [lines[0]], {}
for line in lines[1:-1]:
    kind = json.loads(line)["kind"]["kind"]
    if kinds.get(kind, 0) < 2:
        kinds[kind] = kinds.get(kind, 0) + 1
        kept.append(line)
small = b"".join(kept + [lines[-1]])
put("replay", "small.jsonl", small)
put("replay", "small.jsonl.gz", gzip.compress(small))
put("replay", "cut.jsonl.gz", gzip.compress(small)[: len(gzip.compress(small)) * 2 // 3])

# /metrics pages: the fixtures (real llama.cpp, and vLLM, SGLang, TGI written from their
# source), and a few shapes the fixtures lack.
for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/server-metrics/*.txt"))):
    with open(path, "rb") as f:
        put("server_metrics", os.path.basename(path), f.read())
for i, page in enumerate([
        b'{"quoted.name", "a.b"="x"} 1 1700000000\n',
        b'm{path="C:\\\\dir\\\\",q="say \\"hi\\"",nl="a\\nb"} -Inf\n',
        b"# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 1e-3\ns_count 4\n# EOF\n",
        b"<html><body>404 Not Found</body></html>\n",
        b'{"error": "not found"}',
]):
    put("server_metrics", f"shape-{i}", page)
