"""Benchmark: PDQ hashing throughput (with decoding) and exact match latency at 10^6 and 10^7.

- hashing: one-megapixel JPEGs (made from the shared UKBench photos), CTIP's ``hash_file``
  (DCT-scaled JPEG decoding) against the issue's baseline "Pillow decode, resize to 512 px,
  pdqhash" in the same run, single process, alternating rounds; rates per wall second and per
  CPU second (the machine is shared, so wall time includes waiting for a core), and the
  Hamming distance between the two hashes of each image;
- matching, for each size: random 256-bit hashes (vectorised numpy), queries that are planted
  near-duplicates at distances 0..31 of random stored hashes; the index CTIP chooses at that
  size (build time, index bytes, process RSS growth), p50/p95 latency of one hash and of the
  8 rotations/flips of one image (what ``ctip media match`` sends), exactness against a numpy
  brute-force scan (which is also the baseline latency), and in the same run faiss's flat
  scan with its default OpenMP threads (the configuration recorded before) and one thread;
  at sizes up to 2 million also faiss's ``IndexBinaryMultiHash`` (the previous "mih");
- each size runs in a fresh process: ``process_rss_mib`` is everything that process holds
  after the build (interpreter, numpy, faiss, the generated hashes and the index),
  ``process_peak_rss_mib`` its peak up to then;
- the flat/multi-index crossover at a few small sizes, and multi-index substring widths.

Usage: python bench/media.py [--sizes 1000000,10000000] [--queries 200] [--images 200]
Results go to ``bench/results/media.json`` and a section is appended to ``media.md``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pdqhash
from PIL import Image

from ctip.media.hashing import MATCH_DISTANCE, bits_to_hex, hamming, hash_file
from ctip.media.index import (
    MIH_THRESHOLD,
    HashIndex,
    MultiIndexHash,
    mih_width,
    popcount_rows,
)
from ctip.shared_data import find_shared_data

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "work" / "media"
RESULTS = ROOT / "bench" / "results"
GOALS = {
    "hashing_per_core_per_s": 100,
    "p50_ms_1m": 2.0,
    "p50_ms_10m": 20.0,
    "memory_gb_10m": 2.0,
}


def rss_mib() -> float:
    """Current resident memory of this process (Linux), else the peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "p95_ms": round(float(np.percentile(latencies, 95)), 3),
    }


def timed(call: Callable[[np.ndarray], Any], batches: Iterable[np.ndarray]) -> list[float]:
    """Milliseconds of ``call(batch)`` for each batch."""
    latencies = []
    for batch in batches:
        start = time.perf_counter()
        call(batch)
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def timed_results(
    call: Callable[[np.ndarray], Any], batches: Iterable[np.ndarray]
) -> tuple[list[float], list[Any]]:
    latencies, results = [], []
    for batch in batches:
        start = time.perf_counter()
        results.append(call(batch))
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies, results


def radius_search(index: Any) -> Callable[[np.ndarray], Any]:
    return functools.partial(index.range_search, thresh=MATCH_DISTANCE + 1)


def one_at_a_time(queries: np.ndarray, count: int) -> list[np.ndarray]:
    return [queries[row : row + 1] for row in range(min(count, len(queries)))]


# -- hashing -------------------------------------------------------------------------------


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


def baseline_hash(path: Path) -> str:
    """The issue's baseline: full Pillow decode, resize to 512 px, pdqhash."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((512, 512))
    bits, _quality = pdqhash.compute(np.asarray(image))
    return bits_to_hex(bits)


def hashing(count: int, rounds: int = 3) -> dict[str, Any]:
    paths = megapixel_jpegs(count)
    methods: dict[str, Callable[[Path], str]] = {
        "baseline": baseline_hash,
        "ctip": lambda path: hash_file(path).pdq,
    }
    wall: dict[str, list[float]] = {name: [] for name in methods}
    cpu: dict[str, list[float]] = {name: [] for name in methods}
    hashes: dict[str, list[str]] = {}
    for _ in range(rounds):  # alternate, so both see the same load
        for name, method in methods.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            hashes[name] = [method(path) for path in paths]
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    rate = {name: count / min(times) for name, times in wall.items()}
    cpu_rate = {name: count / min(times) for name, times in cpu.items()}
    distances = [hamming(a, b) for a, b in zip(hashes["ctip"], hashes["baseline"], strict=True)]
    return {
        "images": count,
        "image_size": "1155x866 JPEG, quality 90",
        "rounds": rounds,
        "baseline_per_s": round(rate["baseline"], 1),
        "ctip_per_s": round(rate["ctip"], 1),
        "ratio": round(rate["ctip"] / rate["baseline"], 2),
        "baseline_per_cpu_s": round(cpu_rate["baseline"], 1),
        "ctip_per_cpu_s": round(cpu_rate["ctip"], 1),
        "ratio_cpu": round(cpu_rate["ctip"] / cpu_rate["baseline"], 2),
        "ctip_vs_baseline_hash_distance": {
            "mean": round(float(np.mean(distances)), 2),
            "max": int(max(distances)),
        },
    }


# -- matching ------------------------------------------------------------------------------


def random_hashes(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, 32), dtype=np.uint8)


def planted_queries(data: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` near-duplicates of random stored hashes, at distances 0..31 (all must match),
    each with its 7 other rotations/flips simulated by random hashes."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(data), count, replace=False)
    bits = np.unpackbits(data[rows], axis=1)
    for position in range(count):
        flips = rng.choice(256, int(rng.integers(0, MATCH_DISTANCE + 1)), replace=False)
        bits[position, flips] ^= 1
    queries = np.packbits(bits, axis=1)
    variants = rng.integers(0, 256, (count, 8, 32), dtype=np.uint8)
    variants[:, 0] = queries
    return rows, variants


def brute_force_items(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The numpy baseline: XOR + popcount over every stored hash."""
    return np.flatnonzero(popcount_rows(words ^ query.view(np.uint64)) <= MATCH_DISTANCE)


def faiss_flat(data: np.ndarray, queries: np.ndarray, calls: int, threads: int) -> dict[str, Any]:
    index = faiss.IndexBinaryFlat(256)
    index.add(data)
    default = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        latencies = timed(radius_search(index), one_at_a_time(queries, calls))
    finally:
        faiss.omp_set_num_threads(default)
    return {"threads": threads, "queries": calls, **percentiles(latencies)}


def faiss_multihash(data: np.ndarray, queries: np.ndarray, calls: int) -> dict[str, Any]:
    """The previous "mih": faiss IndexBinaryMultiHash, 8 x 32-bit tables, 3 flips."""
    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    index = faiss.IndexBinaryMultiHash(256, 8, 32)
    index.nflip = 3
    index.add(data)
    build = time.perf_counter() - start
    grown = rss_mib() - before
    default = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        latencies = timed(radius_search(index), one_at_a_time(queries, calls))
    finally:
        faiss.omp_set_num_threads(default)
    return {
        "queries": calls,
        "build_s": round(build, 2),
        "rss_growth_mib": round(grown),
        **percentiles(latencies),
    }


def matching(size: int, queries: int, brute_queries: int, compare_queries: int) -> dict[str, Any]:
    gc.collect()
    data = random_hashes(size, seed=size)
    rows, variants = planted_queries(data, queries, seed=size + 1)
    singles = np.ascontiguousarray(variants[:, 0])

    gc.collect()
    rss_before = rss_mib()
    start = time.perf_counter()
    index = HashIndex(expected_size=size)
    index.add(data)
    index.build()
    build = time.perf_counter() - start
    rss_after = rss_mib()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    index.search(singles[:1])  # first touch
    one_latency, hits = timed_results(index.search, one_at_a_time(singles, queries))
    single_hits = [{hit.item for hit in found} for found in hits]
    eight_latency = timed(index.search, list(variants))
    planted = sum(int(rows[row]) in single_hits[row] for row in range(queries)) / queries

    words = data.view(np.uint64)
    brute_latency, brute = timed_results(
        functools.partial(brute_force_items, words), list(singles[:brute_queries])
    )
    exact = sum(set(items.tolist()) == single_hits[row] for row, items in enumerate(brute))
    result: dict[str, Any] = {
        "hashes": size,
        "index": index.kind,
        "mih_width": mih_width(size) if index.kind == "mih" else None,
        "build_s": round(build, 2),
        "index_mib": round(index.nbytes / 2**20),
        "rss_growth_mib": round(rss_after - rss_before),
        "process_rss_mib": round(rss_after),
        "process_peak_rss_mib": round(peak),
        "queries": queries,
        "one_hash": percentiles(one_latency),
        "eight_variants": percentiles(eight_latency),
        "planted_recall": planted,
        "exact_vs_brute_force": f"{exact}/{brute_queries}",
        "numpy_brute_force": {"queries": brute_queries, **percentiles(brute_latency)},
    }
    index = HashIndex()
    gc.collect()
    calls = min(queries, compare_queries)
    threads = faiss.omp_get_max_threads()
    result["faiss_flat"] = [faiss_flat(data, singles, calls, t) for t in sorted({threads, 1})]
    if size <= 2_000_000:
        result["faiss_multihash"] = faiss_multihash(data, singles, calls)
    result["speedup_vs_numpy_p50"] = round(
        result["numpy_brute_force"]["p50_ms"] / result["one_hash"]["p50_ms"], 1
    )
    return result


def isolated(size: int, args: argparse.Namespace) -> dict[str, Any]:
    """``matching`` in a fresh process, so that its memory figures are this size's alone."""
    command = [sys.executable, str(Path(__file__).resolve()), "--matching-size", str(size)]
    for option in ("queries", "brute_queries", "compare_queries"):
        command += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def crossover(sizes: list[int], queries: int) -> list[dict[str, Any]]:
    """Flat scan (one thread) against multi-index hashing at small sizes: sets MIH_THRESHOLD."""
    rows = []
    for size in sizes:
        data = random_hashes(size, seed=size)
        _, variants = planted_queries(data, queries, seed=size + 1)
        row: dict[str, Any] = {"hashes": size}
        for kind in ("flat", "mih"):
            index = HashIndex(kind)
            index.add(data)
            index.build()
            index.search(variants[0])
            one = timed(index.search, list(variants[:, :1]))
            row[f"{kind}_one_p50_ms"] = percentiles(one)["p50_ms"]
            row[f"{kind}_eight_p50_ms"] = percentiles(timed(index.search, list(variants)))["p50_ms"]
        rows.append(row)
    return rows


def widths(size: int, choices: list[int], queries: int) -> list[dict[str, Any]]:
    data = random_hashes(size, seed=size)
    _, variants = planted_queries(data, queries, seed=size + 1)
    rows = []
    for width in choices:
        start = time.perf_counter()
        structure = MultiIndexHash(data, width)
        build = time.perf_counter() - start
        search = functools.partial(structure.search, max_distance=MATCH_DISTANCE)
        search(variants[0, :1])
        latency = timed(search, list(variants[:, :1]))
        rows.append(
            {
                "hashes": size,
                "width": width,
                "build_s": round(build, 2),
                "index_mib": round(structure.nbytes / 2**20),
                **percentiles(latency),
            }
        )
    return rows


# -- report --------------------------------------------------------------------------------


def goals(result: dict[str, Any]) -> dict[str, Any]:
    by_size = {m["hashes"]: m for m in result["matching"]}
    out: dict[str, Any] = {
        "hashing >= 100 1-MP JPEGs/s per core": {
            "measured_per_wall_s": result["hashing"]["ctip_per_s"],
            "measured_per_cpu_s": result["hashing"]["ctip_per_cpu_s"],
            "met": result["hashing"]["ctip_per_cpu_s"] >= GOALS["hashing_per_core_per_s"],
        }
    }
    if 1_000_000 in by_size:
        p50 = by_size[1_000_000]["one_hash"]["p50_ms"]
        out["p50 <= 2 ms at 1M"] = {"measured_ms": p50, "met": p50 <= GOALS["p50_ms_1m"]}
    if 10_000_000 in by_size:
        m = by_size[10_000_000]
        p50 = m["one_hash"]["p50_ms"]
        out["p50 <= 20 ms at 10M"] = {"measured_ms": p50, "met": p50 <= GOALS["p50_ms_10m"]}
        gb = m["process_rss_mib"] / 1024
        out["memory <= 2 GB at 10M"] = {
            "index_mib": m["index_mib"],
            "process_rss_mib": m["process_rss_mib"],
            "process_peak_rss_mib": m["process_peak_rss_mib"],
            "met": max(gb, m["process_peak_rss_mib"] / 1024) <= GOALS["memory_gb_10m"],
        }
    return out


def markdown(result: dict[str, Any]) -> str:
    h = result["hashing"]
    lines = [
        "",
        f"## {result['date']} ({result['machine']}; `{result['command']}`, {result['total_s']} s)",
        "",
        f"Hashing {h['images']} one-megapixel JPEGs, best of {h['rounds']} alternating rounds:",
        "",
        "| method | per wall s | per CPU s |",
        "|---|---:|---:|",
        f"| baseline: Pillow decode + resize to 512 + pdqhash | {h['baseline_per_s']} | {h['baseline_per_cpu_s']} |",
        f"| CTIP `hash_file` (DCT-scaled decode) | {h['ctip_per_s']} | {h['ctip_per_cpu_s']} |",
        f"| ratio | {h['ratio']} | {h['ratio_cpu']} |",
        "",
        f"CTIP's hash differs from the baseline's by {h['ctip_vs_baseline_hash_distance']['mean']}"
        f" bits on average (max {h['ctip_vs_baseline_hash_distance']['max']}) of 256.",
        "",
        "Exact matching within distance 31 (p50 / p95 ms; one hash, and the 8 rotations/flips of"
        " one image):",
        "",
        "| hashes | index | build s | index MiB | RSS growth / process / peak MiB | one hash |"
        " 8 variants |"
        " numpy brute force | faiss flat (threads) | exact |",
        "|---:|---|---:|---:|---:|---|---|---|---|---|",
    ]
    for m in result["matching"]:
        flat = ", ".join(f"{f['p50_ms']} / {f['p95_ms']} ({f['threads']})" for f in m["faiss_flat"])
        lines.append(
            f"| {m['hashes']:,} | {m['index']} | {m['build_s']} | {m['index_mib']} |"
            f" {m['rss_growth_mib']} / {m['process_rss_mib']} / {m['process_peak_rss_mib']} |"
            f" {m['one_hash']['p50_ms']} / {m['one_hash']['p95_ms']} |"
            f" {m['eight_variants']['p50_ms']} / {m['eight_variants']['p95_ms']} |"
            f" {m['numpy_brute_force']['p50_ms']} / {m['numpy_brute_force']['p95_ms']} |"
            f" {flat} | {m['exact_vs_brute_force']}, planted {m['planted_recall']} |"
        )
    for m in result["matching"]:
        if "faiss_multihash" in m:
            f = m["faiss_multihash"]
            lines.append(
                f"\nfaiss IndexBinaryMultiHash (the previous `mih`) at {m['hashes']:,}: build"
                f" {f['build_s']} s, RSS growth {f['rss_growth_mib']} MiB, p50 / p95"
                f" {f['p50_ms']} / {f['p95_ms']} ms."
            )
    if result.get("crossover"):
        lines += ["", "| hashes | flat one / 8 p50 ms | mih one / 8 p50 ms |", "|---:|---|---|"]
        for c in result["crossover"]:
            lines.append(
                f"| {c['hashes']:,} | {c['flat_one_p50_ms']} / {c['flat_eight_p50_ms']} |"
                f" {c['mih_one_p50_ms']} / {c['mih_eight_p50_ms']} |"
            )
    if result.get("widths"):
        lines += [
            "",
            "| hashes | width | build s | index MiB | p50 / p95 ms |",
            "|---:|---:|---:|---:|---|",
        ]
        for w in result["widths"]:
            lines.append(
                f"| {w['hashes']:,} | {w['width']} | {w['build_s']} | {w['index_mib']} |"
                f" {w['p50_ms']} / {w['p95_ms']} |"
            )
    lines += ["", "Goals:", ""]
    for goal, value in result["goals"].items():
        details = ", ".join(f"{k} {v}" for k, v in value.items() if k != "met")
        lines.append(f"- {goal}: {'met' if value['met'] else 'missed'} ({details})")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--brute-queries", type=int, default=20)
    parser.add_argument("--compare-queries", type=int, default=50)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--crossover", default="50000,200000,500000")
    parser.add_argument("--widths", default="19,21,23", help="substring widths tried at 1M")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--matching-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.matching_size:  # the child process of ``isolated``
        found = matching(args.matching_size, args.queries, args.brute_queries, args.compare_queries)
        print(json.dumps(found))
        return 0
    started = time.perf_counter()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    result: dict[str, Any] = {
        "benchmark": "media",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores shared with other work, load average"
            f" {os.getloadavg()[0]:.1f} at start, Python {platform.python_version()},"
            f" numpy {np.__version__}, faiss {faiss.__version__}"
        ),
        "command": "python bench/media.py " + " ".join(sys.argv[1:]),
        "mih_threshold": MIH_THRESHOLD,
        "hashing": hashing(args.images),
        "matching": [isolated(size, args) for size in sizes],
        "crossover": crossover([int(s) for s in args.crossover.split(",") if s], 100),
        "widths": widths(1_000_000, [int(w) for w in args.widths.split(",") if w], 100),
    }
    result["goals"] = goals(result)
    result["total_s"] = round(time.perf_counter() - started)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "media.json").write_text(json.dumps(result, indent=2) + "\n")
        with (RESULTS / "media.md").open("a", encoding="utf-8") as handle:
            handle.write(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
