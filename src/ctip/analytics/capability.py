"""Analytics: CLI commands, demo step and report sections."""

from __future__ import annotations

import typer

from ctip.analytics.indicators import SOURCES, import_indicators
from ctip.analytics.report import report_sections as report_sections
from ctip.capabilities import DemoContext
from ctip.cli import analyse, evaluate, indicators_cmd


def register_cli(app: typer.Typer) -> None:
    app.add_typer(analyse.app, name="analyse")
    app.add_typer(evaluate.initiative_app, name="initiative")
    app.command("evaluate")(evaluate.evaluate_command)
    indicators_cmd.register(app)


DEMO_INITIATIVE = "demo-philippines-identification"
COUNTRY_STATS = (
    "country-stats/unodc-glotip/data_glotip.csv.gz",
    "country-stats/us-tip-tiers/tip_tiers_orig.csv.gz",
    "country-stats/us-tip-tiers/policy_index.csv.gz",
    "country-stats/fbi-ucr/HT_2013-2020.csv.gz",
    "country-stats/polaris-hotline/HotlineDataCallsCases.csv",
)


def demo(context: DemoContext) -> None:
    """Import the country statistics and declare an example initiative to evaluate."""
    if context.data_dir is None:
        context.say("country statistics not found: skipping indicators")
        return
    engine = context.workspace.engine
    for relative in COUNTRY_STATS:
        path = context.data_dir / relative
        if path.exists():
            report = import_indicators(engine, path)
            context.say(
                f"imported {SOURCES[report.kind][0]} indicators from {path.name}:"
                f" read {report.read:,}, loaded {report.loaded:,}, quarantined {report.quarantined:,},"
                f" duplicates {report.duplicates:,}"
            )
    from datetime import date

    from ctip.analytics.evaluation import Initiative, add_initiative

    if not engine.scalar("SELECT count(*) FROM initiatives WHERE name = ?", [DEMO_INITIATIVE]):
        add_initiative(
            engine,
            Initiative(
                name=DEMO_INITIATIVE,
                start_date=date(2014, 1, 1),
                place="PH",
                indicators=["glotip:Detected trafficking victims", "glotip:Persons convicted"],
                comparison_places=["ID", "TH", "VN"],
                description="Illustration only: a made-up identification campaign from 2014",
            ),
        )
    context.results.setdefault("initiatives", []).append(DEMO_INITIATIVE)
