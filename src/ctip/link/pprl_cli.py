"""``ctip pprl ...``: encode records into CLKs with a shared secret, link encoded files, and
deposit encodings at a hub and ask it which other agencies hold a similar record."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.output import OutputFormat, ReportFormat, emit_object, emit_rows, note, resolve
from ctip.errors import BadInputError
from ctip.ingest.readers import ROW_COLUMN, read_table
from ctip.link.hub_client import ask_file, deposit_file, read_token, rows_for, withdraw
from ctip.link.pprl import HUB_THRESHOLD, check_compatible, match_encodings, read_encodings
from ctip.link.pprl_encode import encode_file
from ctip.link.pprl_schema import draft_schema
from ctip.link.roles import assign_roles, parse_column_specs

app = typer.Typer(
    help="Privacy-preserving record linkage: Bloom-filter encodings (clkhash) matched with"
    " anonlink, between two files or through a hub."
)


@app.command("keygen")
def keygen_command(
    out: Annotated[Path, typer.Option("--out", help="Where to write the new secret")],
) -> None:
    """Make a new random linkage secret (256 bits, hex) readable only by you.

    Share it with the other agencies out of band, never with the linkage unit; make a new one
    to rotate (everyone then re-encodes).
    """
    if out.exists():
        raise BadInputError(f"{out}: already exists", hint="choose another path; never reuse")
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    note(f"wrote a new secret to {out} (mode 600)")


@app.command("schema")
def schema_command(
    file: Annotated[Path, typer.Argument(help="A sample of the records to encode")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the schema (JSON)")],
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help="COL or COL:ROLE to encode; default: recognised columns"),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Record id column (not encoded)")
    ] = None,
    bits: Annotated[int, typer.Option("--bits", min=64, help="Encoding length in bits")] = 1024,
    xor_folds: Annotated[
        int, typer.Option("--xor-folds", min=0, max=3, help="XOR-fold the filter this many times")
    ] = 0,
) -> None:
    """Draft a clkhash linkage schema (v3) for a person file: agree on it before encoding."""
    source = read_table(file)
    header = [c for c in source.table.column_names if c != ROW_COLUMN]
    roles = assign_roles(header, parse_column_specs(columns or []), id_column=id_column)
    sample = source.table.slice(0, 10_000)
    samples = {r.column: sample.column(r.column).to_pylist() for r in roles}
    schema = draft_schema(
        roles, id_column=id_column, bits=bits, xor_folds=xor_folds, samples=samples
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    note(
        f"wrote {out}: {len(roles)} features ("
        + ", ".join(f"{r.column}:{r.role}" for r in roles)
        + ")"
    )


@app.command("encode")
def encode_command(
    file: Annotated[Path, typer.Argument(help="Records to encode (CSV, XLSX, JSON, Parquet)")],
    schema: Annotated[Path, typer.Option("--schema", help="clkhash linkage schema v3 (JSON)")],
    secret_file: Annotated[
        Path, typer.Option("--secret-file", help="File holding the secret shared by the agencies")
    ],
    out: Annotated[Path, typer.Option("--out", help="Encodings to write (JSON Lines)")],
    id_column: Annotated[
        str | None, typer.Option("--id-column", help="Record id column (default: id, rec_id ...)")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Leave out rows that fail the schema, listed")
    ] = False,
) -> None:
    """Encode records into cryptographic long-term keys (CLKs) on this machine.

    Only the encodings leave the agency: {"id", "clk"} per record after a header line with the
    schema's hash and the secret's key id.
    """
    started = time.perf_counter()
    summary = encode_file(
        file, schema, secret_file, out, id_column=id_column, skip_invalid=skip_invalid
    )
    for skipped in summary.skipped[:10]:
        note(f"skipped row {skipped['row']}: {skipped['field']}: {skipped['reason']}")
    if len(summary.skipped) > 10:
        note(f"... and {len(summary.skipped) - 10} more rows skipped")
    note(
        f"encoded {summary.encoded:,} records into {out} ({summary.meta['bits']} bits, key id"
        f" {summary.meta['key_id']}) in {time.perf_counter() - started:.1f}s"
    )


@app.command("match")
def match_command(
    file_a: Annotated[Path, typer.Argument(help="Encodings of the first agency")],
    file_b: Annotated[Path, typer.Argument(help="Encodings of the second agency")],
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, max=1.0, help="Lowest Dice similarity")
    ] = 0.8,
    blocking: Annotated[
        bool, typer.Option("--blocking/--no-blocking", help="Hamming-LSH blocking for scale")
    ] = True,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Link two encoded files: Dice similarity, greedy one-to-one matching; prints {a, b, score}
    with each file's record ids."""
    started = time.perf_counter()
    encoded_a, encoded_b = read_encodings(file_a), read_encodings(file_b)
    check_compatible(encoded_a, encoded_b, (file_a.name, file_b.name))
    matches, stats = match_encodings(encoded_a.clks, encoded_b.clks, threshold, blocking=blocking)
    rows = [
        {"a": encoded_a.ids[i], "b": encoded_b.ids[j], "score": round(score, 4)}
        for i, j, score in matches
    ]
    note(
        f"{len(rows):,} matches between {stats['records_a']:,} and {stats['records_b']:,}"
        f" records at Dice >= {threshold} ({stats['blocking']};"
        f" {stats['candidate_pairs']:,} candidate pairs) in {time.perf_counter() - started:.1f}s"
    )
    emit_rows(rows, resolve(fmt), columns=["a", "b", "score"], title="Matches")


# --- the hub's exchange ------------------------------------------------------------------------

HubUrl = Annotated[str, typer.Option("--hub", help="The hub's base URL")]
TokenFile = Annotated[
    Path | None,
    typer.Option("--token-file", help="File holding an API token (default: CTIP_HUB_TOKEN)"),
]


@app.command("deposit")
def deposit_command(
    file: Annotated[Path, typer.Argument(help="Encodings made with 'ctip pprl encode'")],
    hub_url: HubUrl,
    token_file: TokenFile = None,
    contact: Annotated[
        str | None,
        typer.Option("--contact", help="Also set the agency's linkage contact route (admins)"),
    ] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Deposit the agency's encodings at the hub, replacing its deposit for that schema and
    secret, so other agencies' questions are compared with them. Only encodings leave."""
    token = read_token(token_file)
    report = deposit_file(file, hub_url, token, contact=contact, say=note)
    emit_object(report, resolve(fmt, listing=False), title="deposited")


@app.command("ask")
def ask_command(
    file: Annotated[Path, typer.Argument(help="Encodings of the records to ask about")],
    hub_url: HubUrl,
    token_file: TokenFile = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.5, max=1.0, help="Lowest Dice similarity")
    ] = HUB_THRESHOLD,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Ask the hub which other agencies hold a record like each of these: prints {query,
    agency, contact, score} with your own record ids, never theirs."""
    started = time.perf_counter()
    token = read_token(token_file)
    answers, summary = ask_file(file, hub_url, token, threshold=threshold, say=note)
    note(
        f"{summary['records_matched']:,} of {summary['asked']:,} records are held by another"
        f" agency at Dice >= {threshold} ({summary['answers']:,} answers;"
        f" {summary['agencies_compared']} agencies compared) in"
        f" {time.perf_counter() - started:.1f}s"
    )
    emit_rows(
        rows_for(answers),
        resolve(fmt),
        columns=["query", "agency", "contact", "score"],
        title="Other agencies holding a similar record",
    )


@app.command("withdraw")
def withdraw_command(
    hub_url: HubUrl,
    token_file: TokenFile = None,
    schema_sha256: Annotated[
        str | None, typer.Option("--schema-sha256", help="Only this schema's encodings")
    ] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="Only this key id's")] = None,
) -> None:
    """Withdraw the agency's deposited encodings from the hub (all, or one schema's / key's)."""
    token = read_token(token_file)
    result = withdraw(hub_url, token, schema_sha256=schema_sha256, key_id=key_id)
    note(f"withdrew {result['withdrawn']:,} encodings")
