"""Ads capability: CLI commands, the demo step and the report sections."""

from __future__ import annotations

import time

import typer

from ctip.capabilities import DemoContext, ReportContext, Section


def register_cli(app: typer.Typer) -> None:
    from ctip.ads import cli
    from ctip.cli.export import app as export_app
    from ctip.cli.imports import app as import_app

    import_app.command("ads")(cli.import_command)
    export_app.command("ads")(cli.export_command)
    app.add_typer(cli.app, name="ads")
    app.add_typer(cli.screen_app, name="screen")


DEMO_ADS = 3000


def demo(context: DemoContext) -> None:
    """Generate a synthetic ad set, import it and run extraction, screening, clustering and
    networks; leave the figures for the report."""
    from ctip.ads.generate import generate_ads
    from ctip.ads.importer import import_ads
    from ctip.ads.network_service import run_networks
    from ctip.ads.service import run_cluster, run_extract, run_screen

    started = time.perf_counter()
    workspace = context.workspace
    path = workspace.path / "demo-ads-generated.jsonl"
    generate_ads(DEMO_ADS, seed=5).write(path)
    report = import_ads(workspace, path, source="generated demo ads")
    extracted = run_extract(workspace)
    screened = run_screen(workspace)
    _, summaries = run_cluster(workspace)
    networks = run_networks(workspace)
    flagged = sum(1 for r in screened if r["score"] >= 0.5)
    context.results["ads"] = {
        "ads": report.loaded,
        "with_phone": sum(1 for r in extracted if r["phones"]),
        "flagged": flagged,
        "clusters": len(summaries),
        "networks": len(networks),
        "seconds": round(time.perf_counter() - started, 1),
    }
    context.say(
        f"ads: {report.loaded:,} synthetic ads imported; {flagged:,} flagged for review,"
        f" {len(summaries):,} template clusters, {len(networks):,} networks"
        f" ({context.results['ads']['seconds']}s)"
    )
    context.results.setdefault("next_steps", []).append(
        "ctip ads networks --format table     # ad networks; ctip ads screen for flagged ads"
    )


def report_sections(context: ReportContext) -> list[Section]:
    from ctip.ads.report import sections

    return sections(context)
