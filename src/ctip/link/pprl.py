"""Privacy-preserving record linkage: clkhash encodings, anonlink matching, the hub's question.

Agencies that may not share identities can still find the people they have in common. Each
encodes its records locally into cryptographic long-term keys (CLKs: Bloom filters of keyed
hashes of name, date-of-birth ... n-grams, Schnell et al. 2009) with clkhash, using a linkage
schema in clkhash's v3 format (so other PPRL tools read the same schema) and a secret shared by
the agencies and never by the linkage unit. The linkage unit compares encodings only: Dice
similarity of the bit vectors, candidate pairs above a threshold (anonlink), and a greedy
one-to-one assignment, because one agency's record matches at most one of the other's.

Scale comes from blocking the encodings themselves with Hamming locality-sensitive hashing
(``hamming_lsh``): records that agree on all of ``bits`` sampled bit positions in at least one
of ``tables`` tables are compared. Bits are sampled where about half the records have them set,
so blocks stay balanced; the number of tables is chosen so that a pair at the threshold is
missed with probability below ``MISS_PROBABILITY``.

Encoded files are JSON Lines: a header line ``{"ctip_pprl": {...}}`` (schema hash, key id,
bit length, count), then ``{"id": ..., "clk": base64}`` per record. The key id is an HMAC of a
fixed label under the secret: it shows whether two files were made with the same secret (say,
after a rotation) and reveals nothing about it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from bitarray import bitarray

from ctip.errors import BadInputError

FORMAT_VERSION = 1
MIN_SECRET_BYTES = 16
BLOCK_ABOVE = 50_000_000  # compare all pairs below this many (fast in anonlink's C code)
KEY_ID_LABEL = b"ctip-pprl-key-id-v1"


@dataclass
class EncodedFile:
    ids: list[str]
    clks: list[bitarray]
    meta: dict[str, Any]


@dataclass(frozen=True)
class Match:
    a: str
    b: str
    score: float


@dataclass(frozen=True)
class AgencyMatch:
    """One answer to "does any other agency hold this person?": who, never what."""

    query: str  # the asking agency's own reference for the queried record
    agency: str
    contact: str
    score: float


def read_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes().strip()
    except FileNotFoundError as error:
        raise BadInputError(
            f"{path}: no such secret file", hint="ctip pprl keygen --out KEY"
        ) from error
    except IsADirectoryError as error:
        raise BadInputError(f"{path}: is a folder, not a secret file") from error
    if len(secret) < MIN_SECRET_BYTES:
        raise BadInputError(
            f"{path}: the secret is {len(secret)} bytes; at least {MIN_SECRET_BYTES} are needed",
            hint="make one with 'ctip pprl keygen --out KEY' and share it out of band",
        )
    return secret


def key_id(secret: bytes) -> str:
    return hmac.new(secret, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def load_schema(path: Path) -> tuple[Any, dict[str, Any], str]:
    """(clkhash Schema, schema as a dict, sha256 of its canonical JSON)."""
    from clkhash import schema as clk_schema

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BadInputError(f"{path}: no such schema file") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: not a JSON linkage schema ({error})") from error
    if not isinstance(raw, dict) or raw.get("version") != 3:
        raise BadInputError(
            f"{path}: not a clkhash linkage schema version 3",
            hint="see docs/linkage.md for an example; older versions convert with clkutil",
        )
    try:
        schema = clk_schema.from_json_dict(raw)
    except Exception as error:  # clkhash raises SchemaError and jsonschema errors
        first = str(error).splitlines()[0]
        raise BadInputError(f"{path}: invalid linkage schema: {first}") from error
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    return schema, raw, hashlib.sha256(canonical).hexdigest()


def normalise(value: str | None, case: str | None) -> str:
    """Trim, compose Unicode, collapse spaces, and fold case as the schema's format says.

    Both agencies must clean values the same way for their n-grams to agree; this is what CTIP
    does (documented in docs/linkage.md so other tools can do the same).
    """
    if value is None:
        return ""
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    if case == "upper":
        return text.upper()
    if case == "mixed":
        return text
    return text.lower()


def serialise(clk: bitarray) -> str:
    return base64.b64encode(clk.tobytes()).decode("ascii")


def deserialise(text: str, bits: int) -> bitarray:
    array = bitarray(endian="big")
    array.frombytes(base64.b64decode(text))
    return array[:bits]


def write_encodings(
    out: Path, ids: Sequence[str], clks: Sequence[bitarray], meta: dict[str, Any]
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps({"ctip_pprl": meta}) + "\n")
        for record, clk in zip(ids, clks, strict=True):
            handle.write(json.dumps({"id": record, "clk": serialise(clk)}) + "\n")


def read_encodings(path: Path) -> EncodedFile:
    """An encoded file written by ``ctip pprl encode`` (or any {"id", "clk"} JSON Lines)."""
    if not path.is_file():
        raise BadInputError(f"{path}: no such file", hint="make it with 'ctip pprl encode'")
    ids: list[str] = []
    texts: list[str] = []
    meta: dict[str, Any] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadInputError(f"{path}: line {number}: not JSON ({error.msg})") from error
            if number == 1 and isinstance(item, dict) and "ctip_pprl" in item:
                meta = dict(item["ctip_pprl"])
                continue
            if not isinstance(item, dict) or "id" not in item or "clk" not in item:
                raise BadInputError(
                    f"{path}: line {number}: expected an object with 'id' and 'clk'"
                )
            ids.append(str(item["id"]))
            texts.append(str(item["clk"]))
    if not ids:
        raise BadInputError(f"{path}: no encodings in the file")
    bits = int(meta.get("bits") or len(base64.b64decode(texts[0])) * 8)
    try:
        clks = [deserialise(t, bits) for t in texts]
    except (ValueError, TypeError) as error:
        raise BadInputError(f"{path}: an encoding is not valid base64 ({error})") from error
    meta.setdefault("bits", bits)
    return EncodedFile(ids, clks, meta)


def check_compatible(a: EncodedFile, b: EncodedFile, names: tuple[str, str]) -> None:
    """Refuse to compare encodings made with different schemas, secrets or lengths."""
    for field, what in (("bits", "lengths"), ("schema_sha256", "schemas"), ("key_id", "secrets")):
        left, right = a.meta.get(field), b.meta.get(field)
        if left is not None and right is not None and left != right:
            raise BadInputError(
                f"{names[0]} and {names[1]} were encoded with different {what}",
                hint="both agencies must encode with the same schema and the current secret",
            )


def as_matrix(clks: Sequence[bitarray]) -> np.ndarray:
    """Encodings as a (records x bytes) uint8 matrix."""
    if not clks:
        return np.zeros((0, 0), dtype=np.uint8)
    return np.frombuffer(b"".join(c.tobytes() for c in clks), dtype=np.uint8).reshape(len(clks), -1)


def match_encodings(
    a: Sequence[bitarray],
    b: Sequence[bitarray],
    threshold: float,
    *,
    blocking: bool = True,
    seed: int = 0,
) -> tuple[list[tuple[int, int, float]], dict[str, Any]]:
    """One-to-one matches (index in a, index in b, Dice) at or above ``threshold``.

    Small inputs are compared exhaustively with anonlink's candidate generation; above
    ``BLOCK_ABOVE`` pairs the encodings are blocked with Hamming LSH (``pprl_block``). Either
    way anonlink's greedy solver makes the one-to-one assignment.
    """
    from anonlink import candidate_generation, similarities, solving

    stats: dict[str, Any] = {"records_a": len(a), "records_b": len(b)}
    if blocking and len(a) * len(b) > BLOCK_ABOVE:
        candidates = _blocked_candidates(a, b, threshold, seed, stats)
    else:
        candidates = candidate_generation.find_candidate_pairs(
            [list(a), list(b)], similarities.dice_coefficient, threshold
        )
        stats["blocking"] = "none (all pairs compared)"
    stats["candidate_pairs"] = len(candidates[0])
    groups = solving.greedy_solve(candidates)
    score = {
        (int(i0), int(i1)): float(s)
        for s, i0, i1 in zip(candidates[0], candidates[2][0], candidates[2][1], strict=True)
    }
    matches = [
        (int(i), int(j), score[(int(i), int(j))]) for i, j in solving.pairs_from_groups(groups)
    ]
    matches.sort()
    stats["matches"] = len(matches)
    return matches, stats


def _blocked_candidates(
    a: Sequence[bitarray], b: Sequence[bitarray], threshold: float, seed: int, stats: dict[str, Any]
) -> Any:
    """Candidate pairs in anonlink's format: (similarities, dataset indices, record indices)."""
    import array

    from ctip.link import pprl_block

    matrix_a, matrix_b = as_matrix(a), as_matrix(b)
    target = threshold + 0.4 * (1 - threshold)  # see pprl_block: recall vs. work
    keys, tables, bits = pprl_block.lsh_keys([matrix_a, matrix_b], target, seed=seed)
    codes = pprl_block.candidate_pairs(keys[0], keys[1], len(b))
    i, j = codes // len(b), codes % len(b)
    scores = pprl_block.dice_scores(
        pprl_block.as_words(matrix_a), pprl_block.as_words(matrix_b), i, j
    )
    keep = scores >= threshold
    i, j, scores = i[keep], j[keep], scores[keep]
    order = np.lexsort((j, i, -scores))
    stats["blocking"] = f"Hamming LSH: {tables} tables of {bits} bits"
    stats["compared_pairs"] = len(codes)
    return (
        array.array("d", scores[order].tolist()),
        (array.array("I", [0] * len(order)), array.array("I", [1] * len(order))),
        (array.array("I", i[order].tolist()), array.array("I", j[order].tolist())),
    )


# The hub's default for "does any agency hold this person?": higher than `ctip pprl match`'s
# 0.8 because an answer is an agency's best match over its whole deposit (not one to one), so
# namesakes clear 0.8 far more often (bench/results/pprl_hub.md).
HUB_THRESHOLD = 0.85


def match_query(
    query: Mapping[str, bitarray],
    candidate_sets: Mapping[str, tuple[str, Sequence[bitarray]]],
    threshold: float = 0.8,
) -> list[AgencyMatch]:
    """The hub's comparison: which agencies hold a record like each queried encoding?

    ``query`` maps the asking agency's own references to encodings; ``candidate_sets`` maps each
    other agency to (contact route, its encodings). The answer names agency and contact route
    and the similarity, never which of the agency's records matched or anything in it. Each
    agency answers at most once per queried record (its best match).
    """
    from anonlink import candidate_generation, similarities

    references = list(query)
    encodings = [query[r] for r in references]
    answers: list[AgencyMatch] = []
    for agency, (contact, clks) in sorted(candidate_sets.items()):
        if not clks or not encodings:
            continue
        if len(clks[0]) != len(encodings[0]):
            raise BadInputError(
                f"encodings for {agency} have {len(clks[0])} bits, the query {len(encodings[0])}",
                hint="all agencies must encode with the same linkage schema",
            )
        sims, _, (query_index, _) = candidate_generation.find_candidate_pairs(
            [encodings, list(clks)], similarities.dice_coefficient, threshold
        )
        best: dict[int, float] = {}
        for similarity, position in zip(sims, query_index, strict=True):
            best[int(position)] = max(best.get(int(position), 0.0), float(similarity))
        answers.extend(
            AgencyMatch(references[p], agency, contact, round(s, 4))
            for p, s in sorted(best.items())
        )
    return sorted(answers, key=lambda m: (m.query, -m.score, m.agency))


def header(schema_sha256: str, secret: bytes, bits: int, count: int) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "schema_sha256": schema_sha256,
        "key_id": key_id(secret),
        "bits": bits,
        "records": count,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
