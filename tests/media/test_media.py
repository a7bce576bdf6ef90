"""Image hashing, matching, groups, gallery and case-match queue on the shared UKBench photos
and generated transformations of them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from ctip.errors import NotFoundError
from ctip.media.hashing import MATCH_DISTANCE, hamming, hash_bytes, hash_file
from ctip.media.index import (
    MIH_MAX_WIDTH,
    MIH_MIN_QUERIES,
    MIH_MIN_WIDTH,
    MIH_THRESHOLD,
    QUERY_CHUNK,
    HashIndex,
    Hit,
    MultiIndexHash,
    brute_force,
    mih_width,
    to_matrix,
)
from ctip.media.service import (
    add_to_gallery,
    decide_match,
    import_images,
    match_images,
    near_duplicate_groups,
    queue_case_matches,
    search_hotels,
)
from ctip.workspace import Workspace


@pytest.fixture(scope="module")
def images(shared_data: Path) -> Path:
    return shared_data / "images"


def min_distance(query: Path, original: Path) -> int:
    variants = hash_file(query, dihedral=True).dihedral
    target = hash_file(original).pdq
    return min(hamming(v, target) for v in variants)


def test_resized_and_flipped_copies_match_only_their_original(images: Path) -> None:
    bases = sorted((images / "base_images").glob("*.jpg"))
    for copy in (
        "ukbench00120_resize.jpg",
        "ukbench00120_hflip.jpg",
        "ukbench00120.jpg",
        "ukbench09268.jpg",
    ):
        query = images / "mixed_images" / copy
        distances = {b.name: min_distance(query, b) for b in bases}
        original = copy.split("_")[0].removesuffix(".jpg") + ".jpg"
        assert distances[original] <= MATCH_DISTANCE, (copy, distances[original])
        others = [d for name, d in distances.items() if name != original]
        assert min(others) > MATCH_DISTANCE, (copy, min(others))


def _transformations(image: Image.Image) -> dict[str, Image.Image]:
    width, height = image.size
    out = {}
    crop = image.crop(
        (int(width * 0.05), int(height * 0.05), int(width * 0.95), int(height * 0.95))
    )
    out["crop-10%"] = crop
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=30)
    out["jpeg-q30"] = Image.open(io.BytesIO(buffer.getvalue()))
    out["brighter"] = ImageEnhance.Brightness(image).enhance(1.25)
    out["darker"] = ImageEnhance.Brightness(image).enhance(0.8)
    texted = image.copy()
    ImageDraw.Draw(texted).text((10, height - 30), "call 555-0100 now", fill=(255, 255, 255))
    out["text"] = texted
    out["half-size"] = image.resize((width // 2, height // 2))
    return out


def _bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def transformation_recall(images: Path) -> tuple[dict[str, float], int, int]:
    """Recall per transformation and (false matches, comparisons) across different photos."""
    bases = sorted((images / "base_images").glob("*.jpg"))
    originals = {b.name: hash_file(b).pdq for b in bases}
    found: dict[str, list[bool]] = {}
    false_matches = comparisons = 0
    for base in bases:
        for name, variant in _transformations(Image.open(base).convert("RGB")).items():
            query = hash_bytes(_bytes(variant), dihedral=True)
            for other, pdq in originals.items():
                hit = min(hamming(v, pdq) for v in query.dihedral) <= MATCH_DISTANCE
                if other == base.name:
                    found.setdefault(name, []).append(hit)
                else:
                    comparisons += 1
                    false_matches += hit
    return {k: sum(v) / len(v) for k, v in found.items()}, false_matches, comparisons


def test_generated_transformations_recall_and_false_matches(images: Path) -> None:
    recall, false_matches, comparisons = transformation_recall(images)
    print(f"recall by transformation: {recall}; false matches {false_matches}/{comparisons}")
    for name in ("jpeg-q30", "brighter", "darker", "text", "half-size"):
        assert recall[name] == 1.0, (name, recall[name])
    # PDQ is not built for crops: a 10% crop moves it past 31 bits on these photos. The figure
    # is reported (bench/results/media.json, docs/media.md), not hidden.
    assert false_matches == 0


def _planted(rng: np.random.Generator, base: np.ndarray, flips: list[int]) -> np.ndarray:
    """Copies of the first rows of ``base`` with exactly ``flips[i]`` bits flipped."""
    bits = np.unpackbits(base[: len(flips)], axis=1)
    for row, count in enumerate(flips):
        bits[row, rng.choice(256, count, replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def test_indexes_are_exact_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (5000, 32), dtype=np.uint8)
    base[4000:4010] = base[0]  # exact duplicates share every bucket
    # near-duplicates at every distance around the threshold, plus random unrelated queries
    flips = [int(d) for d in rng.permutation(np.repeat(np.arange(0, 45), 6))]
    queries = np.concatenate(
        [_planted(rng, base, flips), rng.integers(0, 256, (40, 32), dtype=np.uint8)]
    )
    assert len(queries) > QUERY_CHUNK  # the multi-index search works in chunks

    def pairs(hits: list[Hit]) -> set[tuple[int, int, int]]:
        return {(h.query, h.item, h.distance) for h in hits}

    flat, mih = HashIndex("flat"), HashIndex("mih")
    for index in (flat, mih):
        index.add(base[:2500])  # added in two parts
        index.add(base[2500:])
        assert len(index) == len(base)
    assert mih.exact_to == 32
    for distance in (0, 5, 20, MATCH_DISTANCE, 32, 40):  # 40: past MIH's bound -> flat scan
        truth = pairs(brute_force(base, queries, distance))
        assert pairs(flat.search(queries, distance)) == truth, distance
        assert pairs(mih.search(queries, distance)) == truth, distance
    found = {(h.query, h.item) for h in mih.search(queries)}
    for row, count in enumerate(flips):
        assert ((row, row) in found) == (count <= MATCH_DISTANCE)
    assert (0, 4005) in found
    # every width the index may choose, including the narrowest (many candidates per probe)
    for width in (MIH_MIN_WIDTH, 17, MIH_MAX_WIDTH):
        structure = MultiIndexHash(base, width)
        query, item, dist = structure.search(queries, MATCH_DISTANCE)
        assert set(zip(query.tolist(), item.tolist(), dist.tolist(), strict=True)) == pairs(
            brute_force(base, queries, MATCH_DISTANCE)
        )
    assert to_matrix([]).shape == (0, 32)
    assert HashIndex("mih").search(queries) == []
    assert mih.search(queries[:0]) == []


def test_index_choice_and_widths() -> None:
    assert HashIndex(expected_size=1000).kind == "flat"
    assert HashIndex(expected_size=MIH_THRESHOLD).kind == "mih"
    assert HashIndex(expected_size=MIH_THRESHOLD, expected_queries=MIH_MIN_QUERIES).kind == "mih"
    assert HashIndex(expected_size=10**7, expected_queries=8).kind == "flat"  # build > 8 scans
    assert mih_width(10) == MIH_MIN_WIDTH
    assert mih_width(1_000_000) == 21
    assert mih_width(10_000_000) == MIH_MAX_WIDTH
    with pytest.raises(ValueError):
        HashIndex("tree")


def test_store_strips_exif_and_skips_unreadable(
    workspace: Workspace, images: Path, tmp_path: Path
) -> None:
    photo = Image.open(images / "base_images" / "ukbench00120.jpg")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPSInfo
    with_exif = tmp_path / "gps.jpg"
    photo.save(with_exif, format="JPEG", exif=exif)
    assert Image.open(with_exif).getexif()
    report = import_images(
        workspace,
        [with_exif, images / "mixed_images" / "ukbench09268_corrupt.jpg", tmp_path / "missing.jpg"],
    )
    assert (report.read, report.loaded, report.quarantined) == (3, 1, 2)
    thumbnail = workspace.engine.scalar("SELECT thumbnail FROM images")
    assert not Image.open(io.BytesIO(bytes(thumbnail))).getexif()
    reasons = [
        r[0]
        for r in workspace.engine.rows(
            "SELECT errors[1].reason FROM quarantine WHERE kind = 'media'"
        )
    ]
    assert any("not a readable image" in r for r in reasons) and "no such file" in reasons


def test_match_groups_gallery_and_case_queue(workspace: Workspace, images: Path) -> None:
    import_images(workspace, [images / "base_images"], source="gallery seed")
    rows, failed = match_images(workspace, [images / "mixed_images"])
    assert any(f.error for f in failed)  # the corrupt file is reported, the run continues
    matched = {(Path(r["query"]).name, r["match_file"]) for r in rows}
    assert ("ukbench00120_hflip.jpg", "ukbench00120.jpg") in matched
    assert not any(
        q.startswith("ukbench00120") and m.startswith("ukbench09268") for q, m in matched
    )
    import_images(workspace, [images / "mixed_images"])
    groups = near_duplicate_groups(workspace.engine)
    files = [set(g["files"]) for g in groups]
    assert any(
        {"ukbench00120.jpg", "ukbench00120_hflip.jpg", "ukbench00120_resize.jpg"} <= f
        for f in files
    )

    add_to_gallery(
        workspace, [images / "base_images" / "ukbench00120.jpg"], hotel="Hotel Alpha", room="12"
    )
    add_to_gallery(
        workspace, [images / "base_images" / "ukbench09268.jpg"], hotel="Hotel Beta", room="7"
    )
    ranked = search_hotels(workspace, images / "mixed_images" / "ukbench00120_resize.jpg")
    assert ranked[0]["name"] == "Hotel Alpha" and ranked[0]["evidence"].startswith("same photo")

    import_images(
        workspace, [images / "mixed_images" / "ukbench00120_hflip.jpg"], link=("case", "case-1")
    )
    assert queue_case_matches(workspace) >= 2
    assert queue_case_matches(workspace) == 0  # already queued
    match_id = workspace.engine.scalar(
        "SELECT match_id FROM image_match_queue ORDER BY distance DESC LIMIT 1"
    )
    decide_match(workspace, match_id, "confirmed", "analyst-1", "same room")
    decided = workspace.engine.records(
        "SELECT status, decided_by FROM image_match_queue WHERE match_id = ?", [match_id]
    )
    assert decided == [{"status": "confirmed", "decided_by": "analyst-1"}]
    with pytest.raises(NotFoundError):
        decide_match(workspace, "nope", "rejected", "x")


def test_ads_sharing_a_photo_join_one_network(
    workspace: Workspace, images: Path, tmp_path: Path
) -> None:
    import json

    from ctip.ads.importer import import_ads
    from ctip.ads.network_service import run_networks
    from ctip.media.adlinks import ad_image_link_rows, hash_ad_images

    photo = Image.open(images / "base_images" / "ukbench00120.jpg")
    photo.save(tmp_path / "a.jpg")
    photo.resize((320, 240)).save(tmp_path / "b.jpg", quality=60)
    Image.open(images / "base_images" / "ukbench09268.jpg").save(tmp_path / "c.jpg")
    ads = [
        {"id": "ad-1", "title": "new in town", "body": "call 702 555 0101", "images": ["a.jpg"]},
        {"id": "ad-2", "title": "sweet girl", "body": "text 415 555 0177", "images": ["b.jpg"]},
        {"id": "ad-3", "title": "massage", "body": "call 312 555 0188", "images": ["c.jpg"]},
    ]
    path = tmp_path / "ads.jsonl"
    path.write_text("\n".join(json.dumps(ad) for ad in ads))
    import_ads(workspace, path)
    report = hash_ad_images(workspace, tmp_path)
    assert report.read == 3 and report.loaded == 3
    rows = ad_image_link_rows(workspace.engine).to_pylist()
    groups = {r["value"] for r in rows}
    assert len(rows) == 3 and len(groups) == 2  # ad-1 and ad-2 share a near-duplicate photo
    run_networks(workspace, kinds=("phone", "image"))
    membership = dict(
        workspace.engine.rows(
            "SELECT a.id, n.network_id FROM ad_networks n JOIN ads a USING (ad_key)"
            " WHERE n.run_id = (SELECT max(run_id) FROM ad_networks)"
        )
    )
    assert membership["ad-1"] == membership["ad-2"]
    assert membership.get("ad-3") != membership["ad-1"]
