"""Case import: CLI commands and the first demo step."""

from __future__ import annotations

import typer

from ctip.capabilities import DemoContext
from ctip.cli import export, imports, mapping, quarantine, schema
from ctip.cli.imports import summarise
from ctip.ingest.importer import import_cases
from ctip.synth.ctdc import write_ctdc_csv

CTDC_FILES = (
    ("ctdc/ctdc_global_2020_subset.csv.gz", "ctdc", "CTDC global dataset (k-anonymised subset)"),
    ("ctdc/CTDC_VPsynthetic_condensed.csv.gz", "ctdc-vp", "CTDC victim-perpetrator synthetic data"),
)


def register_cli(app: typer.Typer) -> None:
    app.add_typer(imports.app, name="import")
    app.add_typer(schema.app, name="schema")
    app.add_typer(mapping.app, name="mapping")
    app.add_typer(quarantine.app, name="quarantine")
    app.add_typer(export.app, name="export")


def demo(context: DemoContext) -> None:
    """Import the public CTDC data, or generated CTDC-format data when it is not at hand."""
    workspace = context.workspace
    if context.data_dir is not None and (context.data_dir / "ctdc").is_dir():
        for relative, input_format, title in CTDC_FILES:
            report = import_cases(workspace, context.data_dir / relative, input_format=input_format)
            context.say(f"imported {title}: {summarise(report)}")
        context.results["ctdc_source"] = "ctdc"
        return
    generated = write_ctdc_csv(workspace.path / "demo-ctdc-generated.csv", 20_000, seed=1)
    report = import_cases(workspace, generated.path, source="generated CTDC-format demo data")
    context.say(
        "shared data not found: imported 20,000 generated CTDC-format records instead"
        f" ({summarise(report)})"
    )
    context.results["ctdc_source"] = "generated"
