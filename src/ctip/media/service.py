"""Media services: hash and store images, match them, group near-duplicates, link them to
ads and cases, and search the hotel-room gallery. The CLI and the hub call these."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ctip.engine.duckdb import DuckDBEngine
from ctip.errors import BadInputError, NotFoundError
from ctip.media.embedding import ColourLayoutEmbedder, ImageEmbedder, similarity
from ctip.media.hashing import MATCH_DISTANCE, MIN_QUALITY, ImageError, ImageHash, hash_file
from ctip.media.index import HashIndex, to_matrix
from ctip.workspace import Workspace

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class HashResult:
    path: Path
    hash: ImageHash | None = None
    error: str | None = None


@dataclass
class MediaImportReport:
    import_id: str
    source: str
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    image_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "image_ids"}


def iter_image_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and image files inside folders (recursively), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            yield path


def hash_paths(
    paths: Iterable[Path], *, dihedral: bool = False, thumbnail: bool = False
) -> Iterator[HashResult]:
    for path in iter_image_paths(paths):
        if not path.exists():
            yield HashResult(path, error="no such file")
            continue
        try:
            yield HashResult(path, hash_file(path, dihedral=dihedral, thumbnail=thumbnail))
        except ImageError as error:
            yield HashResult(path, error=f"not a readable image ({error})")


def import_images(
    workspace: Workspace,
    paths: Iterable[Path],
    *,
    source: str = "images",
    link: tuple[str, str] | None = None,
) -> MediaImportReport:
    """Hash and store images (once per file content), optionally linking each to an ad,
    case or gallery entry; unreadable files go to quarantine with the reason."""
    engine = workspace.engine
    report = MediaImportReport("img-" + uuid.uuid4().hex[:12], source)
    now = datetime.now(UTC)
    with engine.transaction():
        for result in hash_paths(paths, dihedral=True, thumbnail=True):
            report.read += 1
            if result.hash is None:
                report.quarantined += 1
                engine.sql(
                    "INSERT INTO quarantine (quarantine_id, kind, import_id, source, file_sha256,"
                    " row_number, raw, errors, quarantined_at) VALUES (?, 'media', ?, ?, '', ?, ?,"
                    " [{'column': 'file', 'field': 'image', 'value': ?, 'reason': ?}], ?)",
                    [
                        f"q-{report.import_id}-{report.read}",
                        report.import_id,
                        source,
                        report.read,
                        json.dumps({"file": str(result.path)}),
                        result.path.name,
                        result.error,
                        now,
                    ],
                )
                continue
            image = result.hash
            report.image_ids.append(image.sha256)
            if engine.scalar("SELECT count(*) FROM images WHERE image_id = ?", [image.sha256]):
                report.duplicates += 1
            else:
                report.loaded += 1
                engine.sql(
                    "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        image.sha256,
                        image.pdq,
                        image.quality,
                        list(image.dihedral),
                        image.width,
                        image.height,
                        image.format,
                        image.thumbnail,
                        source,
                        result.path.name,
                        report.import_id,
                        now,
                    ],
                )
            if link is not None:
                kind, ref_id = link
                engine.sql(
                    "INSERT INTO image_links SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM"
                    " image_links WHERE image_id = ? AND kind = ? AND ref_id = ?)",
                    [image.sha256, kind, ref_id, now, image.sha256, kind, ref_id],
                )
    return report


def _stored(
    engine: DuckDBEngine, where: str = "true", params: list[Any] | None = None
) -> list[dict[str, Any]]:
    return engine.records(
        f"SELECT image_id, pdq, dihedral, quality, file_name FROM images WHERE {where} ORDER BY image_id",
        params,
    )


def match_images(
    workspace: Workspace,
    queries: Iterable[Path],
    *,
    max_distance: int = MATCH_DISTANCE,
    include_low_quality: bool = False,
    kinds: Iterable[str] | None = None,
) -> tuple[list[dict[str, Any]], list[HashResult]]:
    """Match query images against stored ones, trying all 8 rotations/flips of each query.

    Returns ({query, match, match_file, distance, quality}, unreadable queries).
    """
    condition, params = "true", list[Any]()
    if not include_low_quality:
        condition, params = "quality >= ?", [MIN_QUALITY]
    if kinds:
        chosen = list(kinds)
        condition += f" AND image_id IN (SELECT image_id FROM image_links WHERE kind IN ({', '.join('?' for _ in chosen)}))"
        params.extend(chosen)
    stored = _stored(workspace.engine, condition, params)
    hashed = list(hash_paths(queries, dihedral=True))
    index = HashIndex(expected_size=len(stored), expected_queries=8 * len(hashed))
    index.add(to_matrix([s["pdq"] for s in stored]))
    results: list[dict[str, Any]] = []
    failed: list[HashResult] = []
    for query in hashed:
        if query.hash is None:
            failed.append(query)
            continue
        variants = list(query.hash.dihedral) or [query.hash.pdq]
        best: dict[int, int] = {}
        for hit in index.search(to_matrix(variants), max_distance):
            best[hit.item] = min(best.get(hit.item, 999), hit.distance)
        low = query.hash.quality < MIN_QUALITY
        for item, distance in sorted(
            best.items(), key=lambda kv: (kv[1], stored[kv[0]]["image_id"])
        ):
            results.append(
                {
                    "query": str(query.path),
                    "match": stored[item]["image_id"],
                    "match_file": stored[item]["file_name"],
                    "distance": distance,
                    "quality": query.hash.quality,
                    "low_quality_query": low,
                }
            )
    return results, failed


def near_duplicate_groups(
    engine: DuckDBEngine, *, max_distance: int = MATCH_DISTANCE, linked_to: str | None = None
) -> list[dict[str, Any]]:
    """Groups of stored images within ``max_distance`` of each other (connected components),
    optionally only among images linked to ads, cases or the gallery."""
    condition, params = "quality >= ?", list[Any]([MIN_QUALITY])
    if linked_to is not None:
        condition += " AND image_id IN (SELECT image_id FROM image_links WHERE kind = ?)"
        params.append(linked_to)
    stored = _stored(engine, condition, params)
    index = HashIndex(expected_size=len(stored), expected_queries=8 * len(stored))
    index.add(to_matrix([s["pdq"] for s in stored]))
    parent = list(range(len(stored)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Each image's 8 rotations/flips are searched, so a mirrored copy joins its original.
    owners = [i for i, s in enumerate(stored) for _ in (list(s["dihedral"]) or [s["pdq"]])]
    variants = to_matrix([v for s in stored for v in (list(s["dihedral"]) or [s["pdq"]])])
    for start in range(0, len(owners), 8192):
        for hit in index.search(variants[start : start + 8192], max_distance):
            a, b = find(owners[start + hit.query]), find(hit.item)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for position in range(len(stored)):
        members.setdefault(find(position), []).append(position)
    groups = []
    for root, positions in members.items():
        if len(positions) < 2:
            continue
        ids = [stored[p]["image_id"] for p in positions]
        groups.append(
            {
                "group": f"g-{stored[root]['image_id'][:12]}",
                "size": len(ids),
                "images": ids,
                "files": [stored[p]["file_name"] for p in positions],
            }
        )
    return sorted(groups, key=lambda g: (-g["size"], g["group"]))


def image_group_links(engine: DuckDBEngine, kind: str = "ad") -> list[tuple[str, str]]:
    """(reference id, image group) for linked images: two ads sharing a group share a photo.

    Exact copies share an image id; near-duplicates share a group; both become network links.
    """
    group_of: dict[str, str] = {}
    for group in near_duplicate_groups(engine, linked_to=kind):
        for image_id in group["images"]:
            group_of[image_id] = group["group"]
    links = engine.rows(
        "SELECT ref_id, image_id FROM image_links WHERE kind = ? ORDER BY ref_id", [kind]
    )
    return [(str(ref), group_of.get(str(image), f"i-{str(image)[:12]}")) for ref, image in links]


# --- hotel-room gallery --------------------------------------------------------------------


def add_to_gallery(
    workspace: Workspace,
    paths: Iterable[Path],
    *,
    hotel: str,
    chain: str | None = None,
    address: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    room: str | None = None,
    contributor: str | None = None,
    embedder: ImageEmbedder | None = None,
) -> MediaImportReport:
    embedder = embedder or ColourLayoutEmbedder()
    engine = workspace.engine
    row = engine.rows(
        "SELECT hotel_id FROM hotels WHERE lower(name) = lower(?) AND coalesce(address, '') = coalesce(?, '')",
        [hotel, address],
    )
    hotel_id = str(row[0][0]) if row else "h-" + uuid.uuid4().hex[:10]
    now = datetime.now(UTC)
    if not row:
        engine.sql(
            "INSERT INTO hotels VALUES (?, ?, ?, ?, ?, ?, ?)",
            [hotel_id, hotel, chain, address, latitude, longitude, now],
        )
    listed = list(iter_image_paths(paths))
    report = import_images(workspace, listed, source=f"gallery:{hotel}", link=("gallery", hotel_id))
    embeddings = {}
    for path in listed:
        try:
            data = path.read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                embeddings[hashlib.sha256(data).hexdigest()] = embedder.embed(image)
        except (OSError, ValueError):
            continue  # unreadable: already quarantined by import_images
    for image_id in report.image_ids:
        if image_id in embeddings and not engine.scalar(
            "SELECT count(*) FROM gallery_photos WHERE image_id = ? AND hotel_id = ?",
            [image_id, hotel_id],
        ):
            engine.sql(
                "INSERT INTO gallery_photos VALUES (?, ?, ?, ?, ?, ?)",
                [image_id, hotel_id, room, contributor, embeddings[image_id].tolist(), now],
            )
    return report


def search_hotels(
    workspace: Workspace, query: Path, *, top: int = 10, embedder: ImageEmbedder | None = None
) -> list[dict[str, Any]]:
    """Hotels ranked for a query photo: re-posted copies (PDQ) first, then room similarity."""
    embedder = embedder or ColourLayoutEmbedder()
    try:
        query_hash = hash_file(query, dihedral=True)
        with Image.open(query) as image:
            vector = embedder.embed(image)
    except (ImageError, OSError) as error:
        raise BadInputError(f"{query}: not a readable image ({error})") from error
    photos = workspace.engine.records(
        "SELECT g.image_id, g.hotel_id, g.room, g.embedding, i.pdq, h.name, h.chain, h.address,"
        " h.latitude, h.longitude FROM gallery_photos g JOIN images i USING (image_id)"
        " JOIN hotels h USING (hotel_id)"
    )
    if not photos:
        raise NotFoundError(
            "the hotel gallery is empty", hint="add photos with 'ctip media gallery add'"
        )
    variants = query_hash.dihedral or (query_hash.pdq,)
    hotels: dict[str, dict[str, Any]] = {}
    for photo in photos:
        distance = min(int.bit_count(int(v, 16) ^ int(photo["pdq"], 16)) for v in variants)
        copy = distance <= MATCH_DISTANCE
        room_similarity = similarity(vector, np.asarray(photo["embedding"], dtype=np.float32))
        score = 1.0 + (MATCH_DISTANCE - distance) / 100 if copy else room_similarity
        entry = hotels.setdefault(
            photo["hotel_id"],
            {
                "hotel_id": photo["hotel_id"],
                "name": photo["name"],
                "chain": photo["chain"],
                "address": photo["address"],
                "latitude": photo["latitude"],
                "longitude": photo["longitude"],
                "score": 0.0,
                "evidence": None,
                "photos": [],
            },
        )
        entry["photos"].append(
            {
                "image": photo["image_id"],
                "room": photo["room"],
                "distance": distance,
                "room_similarity": round(room_similarity, 4),
            }
        )
        if score > entry["score"]:
            entry["score"] = round(score, 4)
            entry["evidence"] = (
                f"same photo (PDQ distance {distance})"
                if copy
                else f"similar colours and layout ({embedder.name}, not a learned model: weak evidence)"
            )
    ranked = sorted(hotels.values(), key=lambda h: -h["score"])[:top]
    for hotel in ranked:
        hotel["photos"] = sorted(
            hotel["photos"], key=lambda p: (p["distance"], -p["room_similarity"])
        )[:5]
    return ranked


# --- case images: matches queued for a person ------------------------------------------------


def queue_case_matches(workspace: Workspace, *, max_distance: int = MATCH_DISTANCE) -> int:
    """Match every case image against gallery, ad and other cases' images; queue new matches."""
    engine = workspace.engine
    cases = engine.records(
        "SELECT l.ref_id AS case_id, i.image_id, i.dihedral, i.pdq FROM image_links l"
        " JOIN images i USING (image_id) WHERE l.kind = 'case' AND i.quality >= ?",
        [MIN_QUALITY],
    )
    stored = _stored(engine, "quality >= ?", [MIN_QUALITY])
    index = HashIndex(expected_size=len(stored), expected_queries=8 * len(cases))
    index.add(to_matrix([s["pdq"] for s in stored]))
    now = datetime.now(UTC)
    queued = 0
    for case in cases:
        variants = list(case["dihedral"]) or [case["pdq"]]
        best: dict[int, int] = {}
        for hit in index.search(to_matrix(variants), max_distance):
            best[hit.item] = min(best.get(hit.item, 999), hit.distance)
        for item, distance in best.items():
            other = stored[item]["image_id"]
            if other == case["image_id"]:
                continue
            match_id = f"m-{case['case_id']}-{case['image_id'][:8]}-{other[:8]}"
            if engine.scalar(
                "SELECT count(*) FROM image_match_queue WHERE match_id = ?", [match_id]
            ):
                continue
            engine.sql(
                "INSERT INTO image_match_queue VALUES (?, ?, ?, ?, ?, 'pending', NULL, NULL, NULL, ?)",
                [match_id, case["case_id"], case["image_id"], other, distance, now],
            )
            queued += 1
    return queued


def decide_match(
    workspace: Workspace, match_id: str, decision: str, who: str, note: str | None = None
) -> None:
    if decision not in ("confirmed", "rejected"):
        raise BadInputError("decide with confirm or reject")
    engine = workspace.engine
    if not engine.scalar("SELECT count(*) FROM image_match_queue WHERE match_id = ?", [match_id]):
        raise NotFoundError(f"no queued match '{match_id}'", hint="see 'ctip media queue'")
    engine.sql(
        "UPDATE image_match_queue SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE match_id = ?",
        [decision, who, datetime.now(UTC), note, match_id],
    )


def thumbnail(workspace: Workspace, image_id: str) -> bytes | None:
    value = workspace.engine.scalar("SELECT thumbnail FROM images WHERE image_id = ?", [image_id])
    return bytes(value) if value is not None else None


def image_from_bytes(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))
