"""``ctip pprl deposit`` / ``ask`` / ``withdraw``: an agency's side of the hub's PPRL exchange.

Files are read with ``ctip.link.pprl.read_encodings`` (the format ``ctip pprl encode`` writes)
and sent to the hub's API with the client ``ctip push`` uses (bearer API token). Deposits and
questions larger than one request are split: each request stays well under the hub's body
limit (5 MiB by default) and its encodings-per-request limits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from ctip.errors import BadInputError, CtipError
from ctip.hub.push import hub_client, problem_text
from ctip.link.pprl import HUB_THRESHOLD, EncodedFile, read_encodings, serialise

TOKEN_ENV = "CTIP_HUB_TOKEN"  # noqa: S105 - the variable's name, not a token
REQUEST_BYTES = 4_000_000  # per request, under the hub's default 5 MiB body limit
DEPOSIT_BATCH = 10_000  # the API's encodings per request
QUESTION_BATCH = 1_000  # the hub takes 5,000 by default; smaller questions answer sooner
REFUSED_INPUT = frozenset({400, 404, 409, 413, 422})


def read_token(path: Path | None) -> str:
    """The API token: first line of ``path``, else ``CTIP_HUB_TOKEN``. A file keeps the token
    out of the shell history and the process list, where ``--token`` would put it."""
    if path is None:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise BadInputError(
                "no API token: pass --token-file FILE or set CTIP_HUB_TOKEN",
                hint="create one with 'ctip hub token create EMAIL'",
            )
        return token
    try:
        lines = path.read_text(encoding="utf-8").split()
    except FileNotFoundError as error:
        raise BadInputError(f"{path}: no such token file") from error
    except (IsADirectoryError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: not a token file") from error
    if not lines:
        raise BadInputError(f"{path}: the token file is empty")
    return lines[0]


def _encoded(path: Path) -> EncodedFile:
    encoded = read_encodings(path)
    missing = [k for k in ("schema_sha256", "key_id") if not encoded.meta.get(k)]
    if missing:
        raise BadInputError(
            f"{path}: no {' or '.join(missing)} in the file's header",
            hint="the hub compares only encodings made with one schema and secret: encode with"
            " 'ctip pprl encode'",
        )
    if len(set(encoded.ids)) != len(encoded.ids):
        raise BadInputError(f"{path}: a record id appears twice")
    return encoded


def _batches(encoded: EncodedFile, most: int) -> Iterator[list[dict[str, str]]]:
    """{ref, clk} lists of at most ``most`` encodings and about ``REQUEST_BYTES`` each."""
    items = [
        {"ref": r, "clk": serialise(c)} for r, c in zip(encoded.ids, encoded.clks, strict=True)
    ]
    per_item = max(len(items[0]["clk"]) + max(len(i["ref"]) for i in items) + 24, 1)
    size = max(1, min(most, REQUEST_BYTES // per_item))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _body(encoded: EncodedFile, batch: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "schema_sha256": encoded.meta["schema_sha256"],
        "key_id": encoded.meta["key_id"],
        "bits": int(encoded.meta["bits"]),
        "encodings": batch,
        **extra,
    }


def _send(
    client: httpx.Client,
    method: str,
    url: str,
    what: str,
    body: Any = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One request; a refusal becomes a one-line error (exit 2 when the input is at fault)."""
    try:
        response = client.request(method, url, json=body, params=params)
    except httpx.HTTPError as error:
        raise CtipError(f"cannot reach the hub at {client.base_url} ({error})") from error
    if response.status_code >= 400:
        message = f"the hub refused {what}: {problem_text(response)}"
        if response.status_code in REFUSED_INPUT:
            raise BadInputError(message)
        raise CtipError(message)
    return response


def deposit_file(
    path: Path,
    hub_url: str,
    token: str,
    *,
    contact: str | None = None,
    say: Callable[[str], None] = lambda _: None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Replace the agency's deposit for the file's schema and key id with the file's encodings
    (first request replaces, the following ones add); optionally set the contact route first."""
    encoded = _encoded(path)
    with hub_client(hub_url, token, transport=transport) as client:
        if contact is not None:
            _send(client, "PUT", "/api/v1/pprl/contact", "the contact route", {"contact": contact})
        report: dict[str, Any] = {}
        replaced = sent = 0
        for number, batch in enumerate(_batches(encoded, DEPOSIT_BATCH)):
            method = "PUT" if number == 0 else "POST"
            report = _send(
                client, method, "/api/v1/pprl/encodings", "the encodings", _body(encoded, batch)
            ).json()
            replaced += int(report["replaced"])
            sent += len(batch)
            say(f"deposited {sent:,} of {len(encoded.ids):,} encodings")
    return {
        "file": str(path),
        "deposited": int(report["records"]),
        "replaced": replaced,
        "bits": int(report["bits"]),
        "schema_sha256": report["schema_sha256"],
        "key_id": report["key_id"],
    }


def ask_file(
    path: Path,
    hub_url: str,
    token: str,
    *,
    threshold: float = HUB_THRESHOLD,
    say: Callable[[str], None] = lambda _: None,
    transport: httpx.BaseTransport | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ask the hub about every encoding in the file: (answers, summary)."""
    encoded = _encoded(path)
    answers: list[dict[str, Any]] = []
    compared = sent = 0
    questions: list[str] = []
    with hub_client(hub_url, token, transport=transport) as client:
        for batch in _batches(encoded, QUESTION_BATCH):
            response = _send(
                client,
                "POST",
                "/api/v1/pprl/query",
                "the question",
                _body(encoded, batch, threshold=threshold),
            )
            answers.extend(response.json())
            compared = max(compared, int(response.headers.get("x-ctip-agencies-compared", 0)))
            questions.append(response.headers.get("x-ctip-pprl-question", ""))
            sent += len(batch)
            say(f"asked about {sent:,} of {len(encoded.ids):,} records: {len(answers):,} answers")
    summary = {
        "asked": len(encoded.ids),
        "answers": len(answers),
        "records_matched": len({a["query"] for a in answers}),
        "agencies_compared": compared,
        "questions": questions,
    }
    return answers, summary


def withdraw(
    hub_url: str,
    token: str,
    *,
    schema_sha256: str | None = None,
    key_id: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Withdraw the agency's deposited encodings (all, or one schema's and/or key id's)."""
    params = {
        k: v for k, v in (("schema_sha256", schema_sha256), ("key_id", key_id)) if v is not None
    }
    with hub_client(hub_url, token, transport=transport) as client:
        result: dict[str, Any] = _send(
            client, "DELETE", "/api/v1/pprl/encodings", "the withdrawal", params=params
        ).json()
    return result


def rows_for(answers: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers in a stable order for printing: by reference, best similarity first."""
    return sorted(answers, key=lambda a: (a["query"], -float(a["score"]), a["agency"]))
