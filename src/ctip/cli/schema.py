"""``ctip schema ...``: the HTCDS standard and CTIP's case record, as data."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ctip.cli.output import OutputFormat, emit_rows, resolve, to_json
from ctip.errors import NotFoundError
from ctip.model.codes import load_code_lists
from ctip.model.fields import case_schema
from ctip.model.htcds import json_schema, load_htcds

app = typer.Typer(help="Show or export the data standards CTIP uses.")

FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
]


class SchemaFormat(StrEnum):
    json_schema = "json-schema"
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


@app.command("htcds")
def htcds(
    fmt: Annotated[
        SchemaFormat | None,
        typer.Option("--format", help="json-schema, table, json, jsonl or csv"),
    ] = None,
    include_deprecated: Annotated[bool, typer.Option(help="Include deprecated fields")] = False,
) -> None:
    """The IOM Human Trafficking Case Data Standard v2.0 fields (or a JSON Schema of them)."""
    if fmt == SchemaFormat.json_schema:
        typer.echo(to_json(json_schema(include_deprecated=include_deprecated), indent=2))
        return
    schema = load_htcds()
    rows = [
        {
            "field": f.name,
            "section": f.section,
            "label": f.label,
            "type": f.type,
            "core": f.core,
            "deprecated": f.deprecated,
            "code_list": f.code_list,
        }
        for f in schema.fields
        if include_deprecated or not f.deprecated
    ]
    output = resolve(None) if fmt is None else fmt.value
    emit_rows(rows, output, title=f"HTCDS {schema.version}")


@app.command("case")
def case(fmt: FormatOption = None) -> None:
    """CTIP's case record: each field, its type, code list and the HTCDS field it carries."""
    rows = [
        {
            "field": f.name,
            "type": f.type,
            "section": f.section,
            "code_list": f.code_list,
            "htcds": f.htcds,
            "personal": f.personal,
            "ruled_out": f.ruled_out,
            "description": f.description,
        }
        for f in case_schema().fields
    ]
    emit_rows(rows, resolve(fmt), title="CTIP case record")


@app.command("codes")
def codes(
    name: Annotated[str | None, typer.Argument(help="A code list; all lists when omitted")] = None,
    fmt: FormatOption = None,
) -> None:
    """The code lists: HTCDS picklists plus the documented CTIP extensions."""
    lists = load_code_lists()
    if name is not None and name not in lists:
        raise NotFoundError(f"no code list '{name}'", hint=f"lists: {', '.join(sorted(lists))}")
    chosen = [lists[name]] if name else list(lists.values())
    rows = [
        {
            "list": cl.name,
            "code": c.code,
            "label": c.label,
            "source": c.source,
            "extension": c.extension,
        }
        for cl in chosen
        for c in cl.codes
    ]
    emit_rows(rows, resolve(fmt))
