"""Benchmark: PDQ hashing throughput (with decoding) and query latency at 10^6 and 10^7 hashes.

- hashing: one-megapixel JPEGs (made from the shared UKBench photos), CTIP's ``hash_file``
  (DCT-scaled JPEG decoding) against the baseline "Pillow decode, resize to 512 px, pdqhash" in
  the same run, single process;
- matching: p50/p95 latency of a range query at distance 31 against 1,000,000 and 10,000,000
  random hashes, exact linear scan (faiss IndexBinaryFlat) and multi-index hashing, with the
  index memory; queries are planted near-duplicates so every query has a true match.

Usage: python bench/media.py [--sizes 1000000,10000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from ctip.media.hashing import hash_file
from ctip.media.index import HashIndex
from ctip.shared_data import find_shared_data

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "media"
RESULTS = ROOT / "bench" / "results"


def megapixel_jpegs(count: int) -> list[Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    shared = find_shared_data(ROOT)
    assert shared is not None, "needs the shared UKBench photos"
    bases = sorted((shared / "images" / "base_images").glob("*.jpg"))
    paths = []
    for index in range(count):
        path = WORK / f"mp-{index}.jpg"
        if not path.exists():
            image = Image.open(bases[index % len(bases)]).convert("RGB").resize((1155, 866))
            image.rotate(index % 7, expand=False).save(path, format="JPEG", quality=90)
        paths.append(path)
    return paths


def baseline_hash(path: Path) -> None:
    image = Image.open(path).convert("RGB")
    image.thumbnail((512, 512))
    pdqhash.compute(np.asarray(image))


def hashing(count: int) -> dict[str, float]:
    paths = megapixel_jpegs(count)
    start = time.perf_counter()
    for path in paths:
        baseline_hash(path)
    baseline = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for path in paths:
        hash_file(path)
    ctip = count / (time.perf_counter() - start)
    return {
        "images": count,
        "baseline_per_s": round(baseline, 1),
        "ctip_per_s": round(ctip, 1),
        "ratio": round(ctip / baseline, 2),
    }


def matching(size: int, queries: int, kind: str) -> dict[str, object]:
    rng = np.random.default_rng(size)
    data = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    bits = np.unpackbits(data[:queries], axis=1)
    for row in range(queries):
        bits[row, rng.choice(256, 20, replace=False)] ^= 1
    planted = np.packbits(bits, axis=1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index = HashIndex(kind)
    index.add(data)
    build = time.perf_counter() - start
    latencies = []
    found = 0
    for row in range(queries):
        start = time.perf_counter()
        hits = index.search(planted[row : row + 1])
        latencies.append((time.perf_counter() - start) * 1000)
        found += any(h.item == row for h in hits)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return {
        "hashes": size,
        "index": kind,
        "build_s": round(build, 2),
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p95_ms": round(float(np.percentile(latencies, 95)), 3),
        "recall": found / queries,
        "memory_growth_mib": round(grown),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    result: dict[str, object] = {
        "benchmark": "media",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other work)",
        "hashing": hashing(args.images),
        "matching": [
            matching(int(size), args.queries, kind)
            for size in args.sizes.split(",")
            for kind in ("flat", "mih")
        ],
        "goals": "hashing >= 100 1-MP JPEGs/s per core; query p50 <= 2 ms at 1M, <= 20 ms at 10M; memory <= 2 GB at 10M",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "media.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
