#!/usr/bin/env python3
"""`bench compress` against the file compressors people use, on one real file (issue 28).

Writes results/file-compressor/file_compressor.json, the source of the README's "Compress your own
files" table (scripts/doc_tables.py). Input: 64 KiB of held-out Wikipedia XML (the enwiki sample
from byte 5,480,771, which no shipped model trained on). Every output is decompressed and compared
with the input. Timings are wall seconds of the process, best of three, for the programs and for
bench alike (bench starts in about 0.1 s: libtorch is loaded only by the commands that need it).

    scripts/file_compressor_table.py [--sample PATH] [--out DIR]     (from the repository root)
"""

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

OFFSET, LENGTH = 5_480_771, 65_536
PROGRAMS = [  # (label, compress argv, decompress argv): stdin -> stdout
    ("`gzip -9` (program)", ["gzip", "-9", "-c"], ["gzip", "-d", "-c"]),
    ("`xz -9` (program)", ["xz", "-9", "-c"], ["xz", "-d", "-c"]),
    ("`zstd -19` (program)", ["zstd", "-19", "-c", "-q"], ["zstd", "-d", "-c", "-q"]),
]
BENCH = [  # (label, --with)
    ("bench `gzip`", "gzip"),
    ("bench `lzma2`", "lzma2"),
    ("bench `zstd`", "zstd"),
    ("bench `brotli`", "brotli"),
    ("bench `lm`, Transformer 200K",
     '{"kind": "lm", "checkpoint": "models/checkpoints/transformer-200k.lmct"}'),
]


def timed(argv, data, repeats=3):
    best, output = None, None
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(argv, input=data, capture_output=True, check=True)
        elapsed = time.perf_counter() - started
        best, output = min(best or elapsed, elapsed), done.stdout
    return best, output


def bench(*args, repeats=3):
    """bench's report and its best wall time of `repeats` runs."""
    best = None
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(["build/harness/bench", *args, "--quiet"], capture_output=True,
                              text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"file_compressor_table: bench {' '.join(args)} failed:\n"
                     f"{done.stdout}{done.stderr}")
        best = min(best or elapsed, elapsed)
    return done.stdout + done.stderr, best


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", default="../shared/data/text/enwiki-2016-sample.xml")
    parser.add_argument("--out", default="results/file-compressor")
    args = parser.parse_args()
    with open(args.sample, "rb") as sample:
        sample.seek(OFFSET)
        data = sample.read(LENGTH)
    if len(data) != LENGTH:
        sys.exit(f"file_compressor_table: {args.sample} holds fewer than {OFFSET + LENGTH} bytes")
    rows = []
    for name, compress, decompress in PROGRAMS:
        seconds, packed = timed(compress, data)
        back_seconds, back = timed(decompress, packed)
        if back != data:
            sys.exit(f"file_compressor_table: {compress[0]} did not give the input back")
        rows.append({"label": name, "output_bytes": len(packed), "compress_seconds": seconds,
                     "decompress_seconds": back_seconds})
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        original = work / "heldout.xml"
        original.write_bytes(data)
        for name, compressor in BENCH:
            packed, back = work / "packed.lmcs", work / "back.xml"
            said, seconds = bench("compress", str(original), "-o", str(packed), "--with",
                                  compressor)
            coded = re.search(r"-> (\d+) bytes of streams", said)
            said_back, back_seconds = bench("decompress", str(packed), "-o", str(back))
            if not coded or "every checksum matches" not in said_back or \
                    back.read_bytes() != data:
                sys.exit(f"file_compressor_table: bench {compressor} did not round-trip:\n"
                         f"{said}{said_back}")
            rows.append({"label": name, "output_bytes": int(coded.group(1)),
                         "container_bytes": packed.stat().st_size,
                         "compress_seconds": seconds, "decompress_seconds": back_seconds})
    for row in rows:
        row["rate"] = 100.0 * row["output_bytes"] / LENGTH
    result = {
        "schema": "lmc-bench/file-compressor/1",
        "input": {"path": args.sample, "offset": OFFSET, "bytes": LENGTH,
                  "description": "64 KiB of held-out Wikipedia XML (the enwiki sample from byte "
                                 f"{OFFSET:,})"},
        "cpu": cpu_model(),
        "threads": len(__import__("os").sched_getaffinity(0)),
        "note": "output = the compressed streams (for bench, without its container); times: "
                "best of three wall times of the process, programs and bench alike",
        "rows": rows,
    }
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "file_compressor.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"file_compressor_table: wrote {out / 'file_compressor.json'}")


if __name__ == "__main__":
    main()
