"""Safe public releases: CLI commands, the demo's k-anonymous release, the report's release page."""

from __future__ import annotations

import typer

from ctip.capabilities import DemoContext, ReportContext, Section


def register_cli(app: typer.Typer) -> None:
    from ctip.privacy import cli

    app.add_typer(cli.app, name="release")


def demo(context: DemoContext) -> None:
    """A k-anonymous (k = 11) release of the case records imported by the first demo step."""
    from ctip.privacy.release import release_kanon
    from ctip.privacy.source import DEFAULT_QUASI, DEFAULT_SENSITIVE, from_cases

    engine = context.workspace.engine
    if not engine.scalar("SELECT count(*) FROM cases"):
        context.say("no case records: skipping the k-anonymous release")
        return
    out = context.workspace.path / "releases" / "cases-k11.csv"
    source = from_cases(engine, [*DEFAULT_QUASI, *DEFAULT_SENSITIVE])
    release = release_kanon(source, DEFAULT_QUASI, 11, out, extra=DEFAULT_SENSITIVE, engine=engine)
    summary = release.summary
    context.say(
        f"k-anonymous release (k=11) of {summary['records_in']:,} case records: "
        + ", ".join(f"{g['column']} as {g['as']}" for g in summary["generalisation"])
        + f"; {summary['suppressed_records']:,} suppressed; written to {out}"
    )
    context.results.setdefault("next_steps", []).append(
        f"See what the k-anonymous release protects: {out.with_suffix('.html')}"
    )


def report_sections(context: ReportContext) -> list[Section]:
    from ctip.privacy.report import release_section

    section = release_section(context)
    return [section] if section is not None else []
