"""Benchmark: ad extraction, near-duplicate candidates, clustering + networks at 1M, accuracy.

All on generated ads (``ctip.ads.generate``: fictional 555 numbers, known ground truth), with a
baseline measured in the same run:

1. extraction throughput on one core: ``extract_identifiers`` (all identifier kinds, evidence
   spans) against libphonenumber's ``PhoneNumberMatcher`` alone on the same ads (phones only),
   plus both finders' phone recall/precision on the generated truth;
2. near-duplicate candidate generation: CTIP's vectorised one-permutation MinHash + LSH
   (tokenise, sign, band, verify) against datasketch ``MinHash`` + ``MinHashLSH``, on short ads;
3. clustering + networks on 1,000,000 generated ads, in a child process so its peak memory
   (max RSS) is measured; identifiers are extracted first with a process pool (timed apart);
4. accuracy on generated ground truth: phone, e-mail, handle and wallet precision/recall;
   cluster purity/completeness against templates and network purity/completeness against
   operators; optionally phone recall/precision on an external file of real ads with truth
   (``--external``; never stored in the repository).

Results go to bench/results/ads.json and a section is appended to bench/results/ads.md.

Usage: python bench/ads.py [--extract 20000] [--candidates 200000] [--million 1000000]
                           [--accuracy 20000] [--external docs.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

from ctip.ads.cluster import DatasketchClusterer, MinHashLSH, Tokenizer
from ctip.ads.extract import extract_identifiers
from ctip.ads.generate import generate_ads
from ctip.ads.networks import build_networks

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def available_memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024**2
    return 0.0


def _texts(ads: list[dict[str, Any]]) -> list[str]:
    return [f"{a['title']}\n{a['body']}" for a in ads]


def bench_extraction(count: int) -> dict[str, Any]:
    import phonenumbers

    generated = generate_ads(count, seed=101)
    for ad in generated.ads[:500]:  # warm caches the same way for both
        extract_identifiers(ad)
    started, cpu = time.perf_counter(), time.process_time()
    ours = [extract_identifiers(ad) for ad in generated.ads]
    ours_s, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    theirs = []
    for ad in generated.ads:
        text = f"{ad['title']}\n{ad['body']}"
        theirs.append(
            {
                phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
                for m in phonenumbers.PhoneNumberMatcher(text, "US")
            }
        )
    theirs_s, theirs_cpu = time.perf_counter() - started, time.process_time() - cpu
    scores = {"ctip": [0, 0, 0], "phonenumbers": [0, 0, 0], "obfuscated_ctip": [0, 0],
              "obfuscated_phonenumbers": [0, 0]}  # fmt: skip
    for truth, mine, base in zip(generated.truth, ours, theirs, strict=True):
        expected = set(truth.phones)
        for name, got in (("ctip", set(mine.values("phones"))), ("phonenumbers", base)):
            scores[name][0] += len(expected & got)
            scores[name][1] += len(got - expected)
            scores[name][2] += len(expected - got)
            hidden = set(truth.obfuscated_phones)
            scores[f"obfuscated_{name}"][0] += len(hidden & got)
            scores[f"obfuscated_{name}"][1] += len(hidden)
    result: dict[str, Any] = {
        "ads": count,
        "ctip_seconds": round(ours_s, 2),
        "ctip_ads_per_second": round(count / ours_s),
        "phonenumbers_seconds": round(theirs_s, 2),
        "phonenumbers_ads_per_second": round(count / theirs_s),
        "speed_ratio": round(theirs_s / ours_s, 2),
        "ctip_cpu_ads_per_second": round(count / ours_cpu),
        "phonenumbers_cpu_ads_per_second": round(count / theirs_cpu),
    }
    for name in ("ctip", "phonenumbers"):
        tp, fp, fn = scores[name]
        found, total = scores[f"obfuscated_{name}"]
        result[f"{name}_phone_precision"] = round(tp / max(1, tp + fp), 4)
        result[f"{name}_phone_recall"] = round(tp / max(1, tp + fn), 4)
        result[f"{name}_obfuscated_phone_recall"] = round(found / max(1, total), 4)
    return result


def bench_candidates(count: int, datasketch_count: int) -> dict[str, Any]:
    generated = generate_ads(count, seed=202)
    texts = [a["title"] + "\n" + a["body"][:160] for a in generated.ads]  # short ads
    started, cpu = time.perf_counter(), time.process_time()
    tokens, offsets = Tokenizer().corpus(texts)
    lsh = MinHashLSH()
    signature = lsh.signatures(tokens, offsets)
    pairs = lsh.candidate_pairs(signature)
    kept = pairs[lsh.similarity(signature, pairs) >= lsh.threshold]
    ours_s, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    subset = texts[:datasketch_count]
    started, cpu = time.perf_counter(), time.process_time()
    DatasketchClusterer().cluster(subset)
    theirs_s, theirs_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "ads": count,
        "mean_words": round(float(np.diff(offsets).mean()), 1),
        "ctip_seconds": round(ours_s, 2),
        "ctip_ads_per_second": round(count / ours_s),
        "candidate_pairs": len(pairs),
        "verified_pairs": len(kept),
        "datasketch_ads": datasketch_count,
        "datasketch_seconds": round(theirs_s, 2),
        "datasketch_ads_per_second": round(datasketch_count / theirs_s),
        "speed_ratio": round((count / ours_s) / (datasketch_count / theirs_s), 1),
        "ctip_cpu_ads_per_second": round(count / ours_cpu),
        "datasketch_cpu_ads_per_second": round(datasketch_count / theirs_cpu),
    }


def _extract_chunk(ads: list[dict[str, Any]]) -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    for ad in ads:
        found = extract_identifiers(ad)
        index = int(ad["id"].rsplit("-", 1)[1])
        for kind, prefix in (("phones", "phone"), ("emails", "email"), ("handles", "handle"),
                             ("crypto", "wallet")):  # fmt: skip
            rows.extend((index, f"{prefix}:{value}") for value in found.values(kind))
    return rows


def million(count: int, workers: int) -> dict[str, Any]:
    """Runs in a child process (see main): generate, extract, then time cluster + networks."""
    started = time.perf_counter()
    generated = generate_ads(count, seed=303)
    generate_s = time.perf_counter() - started
    ads = generated.ads
    started = time.perf_counter()
    chunks = [ads[i : i + 5000] for i in range(0, len(ads), 5000)]
    with Pool(workers) as pool:
        rows = [row for part in pool.imap(_extract_chunk, chunks) for row in part]
    extract_s = time.perf_counter() - started
    texts = _texts(ads)
    images = [(i, f"image:{ref}") for i, ad in enumerate(ads) for ref in ad["images"]]
    truth_templates = [t.template for t in generated.truth]
    truth_operators = [t.operator for t in generated.truth]
    del generated, ads, chunks
    started = time.perf_counter()
    tokens, offsets = Tokenizer().corpus(texts)
    del texts
    labels, _ = MinHashLSH().cluster(tokens, offsets)
    cluster_s = time.perf_counter() - started
    sizes = np.bincount(labels)
    in_clusters = np.flatnonzero(sizes[labels] > 1)
    links_ads = np.concatenate(
        [
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[0] for r in images), dtype=np.int64, count=len(images)),
            in_clusters,
        ]
    )
    links_values = (
        [r[1] for r in rows]
        + [r[1] for r in images]
        + [f"cluster:{labels[i]}" for i in in_clusters]
    )
    networks = build_networks(count, links_ads, links_values, max_size=5000)
    total_s = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "ads": count,
        "generate_seconds": round(generate_s, 1),
        "extract_seconds": round(extract_s, 1),
        "extract_workers": workers,
        "cluster_seconds": round(cluster_s, 1),
        "networks_seconds": round(total_s - cluster_s, 1),
        "cluster_plus_networks_seconds": round(total_s, 1),
        "link_rows": len(links_values),
        "clusters_2plus": int((sizes > 1).sum()),
        "networks_2plus": int((np.bincount(networks.network) > 1).sum()),
        "split_components": networks.split_components,
        "peak_rss_gib": round(peak / 1024**3, 2),
        "cluster_quality": quality(truth_templates, labels),
        "network_quality": quality(truth_operators, networks.network),
    }


def quality(truth: list[str], labels: np.ndarray) -> dict[str, float]:
    """Purity (each predicted group's main truth label) and completeness (inverse purity)."""
    from sklearn.metrics import adjusted_rand_score, homogeneity_completeness_v_measure

    pairs = Counter(zip(labels.tolist(), truth, strict=True))
    by_label: dict[int, int] = {}
    by_truth: dict[str, int] = {}
    for (label, item), count in pairs.items():
        by_label[label] = max(by_label.get(label, 0), count)
        by_truth[item] = max(by_truth.get(item, 0), count)
    homogeneity, completeness, _ = homogeneity_completeness_v_measure(truth, labels)
    return {
        "purity": round(sum(by_label.values()) / len(truth), 4),
        "inverse_purity": round(sum(by_truth.values()) / len(truth), 4),
        "homogeneity": round(float(homogeneity), 4),
        "completeness": round(float(completeness), 4),
        "adjusted_rand": round(float(adjusted_rand_score(truth, labels)), 4),
    }


def bench_accuracy(count: int) -> dict[str, Any]:
    generated = generate_ads(count, seed=404)
    fields = {"phones": "phones", "emails": "emails", "handles": "handles", "crypto": "wallets"}
    totals = {kind: [0, 0, 0] for kind in fields}
    for ad, truth in zip(generated.ads, generated.truth, strict=True):
        found = extract_identifiers(ad)
        for kind, field in fields.items():
            expected, got = set(getattr(truth, field)), set(found.values(kind))
            totals[kind][0] += len(expected & got)
            totals[kind][1] += len(got - expected)
            totals[kind][2] += len(expected - got)
    result: dict[str, Any] = {"ads": count}
    for kind, (tp, fp, fn) in totals.items():
        result[kind] = {
            "true": tp + fn,
            "precision": round(tp / max(1, tp + fp), 4),
            "recall": round(tp / max(1, tp + fn), 4),
        }
    texts = _texts(generated.ads)
    tokens, offsets = Tokenizer().corpus(texts)
    labels, _ = MinHashLSH().cluster(tokens, offsets)
    result["clusters_vs_templates"] = quality([t.template for t in generated.truth], labels)
    result["datasketch_clusters_vs_templates"] = quality(
        [t.template for t in generated.truth], DatasketchClusterer().cluster(texts)
    )
    return result


def bench_external(path: Path) -> dict[str, Any]:
    """Phone recall/precision on real ads with truth (national numbers), e.g. the Memex
    phone-matcher test set; the file stays outside the repository."""
    import phonenumbers

    data = json.loads(path.read_text())
    records = [r for r in data.get("jsonlines", data) if r.get("title") or r.get("body")]
    counts = {"ctip": [0, 0, 0], "phonenumbers": [0, 0, 0]}
    for record in records:
        truth = set(record.get("url_ext_gt", [])) | set(record.get("text_ext_gt", []))
        ours = [phonenumbers.parse(p.value) for p in extract_identifiers(record).phones]
        text = "\n".join(str(record.get(k) or "") for k in ("title", "body", "url"))
        base = [m.number for m in phonenumbers.PhoneNumberMatcher(text, "US")]
        for name, numbers in (("ctip", ours), ("phonenumbers", base)):
            # the truth lists national numbers, or country code and number for some
            forms = [
                {str(n.national_number), f"{n.country_code}{n.national_number}"} for n in numbers
            ]
            hit = {t for t in truth if any(t in f for f in forms)}
            counts[name][0] += len(hit)
            counts[name][1] += sum(1 for f in forms if not f & truth)
            counts[name][2] += len(truth - hit)
    return {
        "ads": len(records),
        **{
            f"{name}_{metric}": round(value, 4)
            for name, (tp, fp, fn) in counts.items()
            for metric, value in (
                ("recall", tp / max(1, tp + fn)),
                ("precision", tp / max(1, tp + fp)),
            )
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=int, default=20_000)
    parser.add_argument("--candidates", type=int, default=200_000)
    parser.add_argument("--datasketch", type=int, default=20_000)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--accuracy", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--external", type=Path)
    parser.add_argument("--child-million", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_million:
        print(json.dumps(million(args.child_million, args.workers)))
        return 0
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with other engineers)",
        "python": platform.python_version(),
    }
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("extraction", lambda: bench_extraction(args.extract)),
        ("candidates", lambda: bench_candidates(args.candidates, args.datasketch)),
        ("accuracy", lambda: bench_accuracy(args.accuracy)),
    ]
    if args.external:
        steps.append(("external_real_ads", lambda: bench_external(args.external)))
    for name, step in steps:
        print(f"{name} ...", file=sys.stderr)
        results[name] = step()
        print(json.dumps(results[name]), file=sys.stderr)
    if args.million:
        free = available_memory_gib()
        results["million_free_memory_gib_before"] = round(free, 1)
        if free < 10:
            results["million"] = {"skipped": f"only {free:.1f} GiB free; needs about 8"}
        else:
            print("million ...", file=sys.stderr)
            done = subprocess.run(
                [sys.executable, __file__, "--child-million", str(args.million), "--workers",
                 str(args.workers)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            results["million"] = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps(results["million"]), file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ads.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results)
    return 0


def write_markdown(results: dict[str, Any]) -> None:
    path = RESULTS / "ads.md"
    lines = [] if path.exists() else ["# bench/ads.py results", ""]
    e, c, a = results["extraction"], results["candidates"], results["accuracy"]
    lines += [
        f"## {results['date']} ({results['machine']})",
        "",
        "| measure | CTIP | baseline (same run) | goal |",
        "|---|---|---|---|",
        f"| extraction, ads/s on one core, wall (CPU) | {e['ctip_ads_per_second']:,}"
        f" ({e['ctip_cpu_ads_per_second']:,}) all identifiers + evidence"
        f" | {e['phonenumbers_ads_per_second']:,} ({e['phonenumbers_cpu_ads_per_second']:,})"
        " PhoneNumberMatcher, phones only | ≥ 5,000 |",
        f"| phone recall / precision, generated | {e['ctip_phone_recall']} / {e['ctip_phone_precision']}"
        f" | {e['phonenumbers_phone_recall']} / {e['phonenumbers_phone_precision']} | ≥ 0.99 |",
        f"| obfuscated phone recall, generated | {e['ctip_obfuscated_phone_recall']}"
        f" | {e['phonenumbers_obfuscated_phone_recall']} | |",
        f"| near-duplicate candidates, ads/s wall (CPU), {c['ads']:,} short ads |"
        f" {c['ctip_ads_per_second']:,} ({c['ctip_cpu_ads_per_second']:,}) |"
        f" {c['datasketch_ads_per_second']:,} ({c['datasketch_cpu_ads_per_second']:,}) datasketch,"
        f" {c['datasketch_ads']:,} ads | ≥ 20,000 |",
    ]
    for kind in ("phones", "emails", "handles", "crypto"):
        lines.append(
            f"| {kind} precision / recall ({a['ads']:,} generated ads) |"
            f" {a[kind]['precision']} / {a[kind]['recall']} | | ≥ 0.99 (phones, e-mails) |"
        )
    q, d = a["clusters_vs_templates"], a["datasketch_clusters_vs_templates"]
    lines.append(
        f"| clusters vs templates: purity / inverse purity / ARI | {q['purity']} /"
        f" {q['inverse_purity']} / {q['adjusted_rand']} | datasketch: {d['purity']} /"
        f" {d['inverse_purity']} / {d['adjusted_rand']} | |"
    )
    if "external_real_ads" in results:
        x = results["external_real_ads"]
        lines.append(
            f"| phone recall / precision, {x['ads']} real ads (external, used in development) |"
            f" {x['ctip_recall']} / {x['ctip_precision']} | {x['phonenumbers_recall']} /"
            f" {x['phonenumbers_precision']} | ≥ 0.97 / 0.98 |"
        )
    m = results.get("million", {})
    if "skipped" in m:
        lines.append(f"| 1M ads cluster + networks | skipped: {m['skipped']} | | |")
    elif m:
        lines.append(
            f"| {m['ads']:,} ads: cluster + networks | {m['cluster_plus_networks_seconds']} s"
            f" (cluster {m['cluster_seconds']} s, networks {m['networks_seconds']} s), peak"
            f" {m['peak_rss_gib']} GiB | extraction {m['extract_seconds']} s on"
            f" {m['extract_workers']} processes | ≤ 300 s, ≤ 8 GB |"
        )
        cq, nq = m["cluster_quality"], m["network_quality"]
        lines.append(
            f"| 1M: clusters vs templates / networks vs operators (purity, inverse purity) |"
            f" {cq['purity']}, {cq['inverse_purity']} / {nq['purity']}, {nq['inverse_purity']} | | |"
        )
    lines += ["", "The machine was shared with other engineers while this ran.", ""]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
