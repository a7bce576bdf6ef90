"""``ctip initiative ...`` and ``ctip evaluate``: monitoring and evaluation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from ctip.analytics.country import resolve_place
from ctip.analytics.evaluation import Initiative, add_initiative, evaluate, list_initiatives
from ctip.cli.context import open_workspace
from ctip.cli.output import OutputFormat, emit_rows, note, resolve
from ctip.errors import BadInputError, NotFoundError

initiative_app = typer.Typer(help="Declare initiatives whose effect 'ctip evaluate' estimates.")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInputError(f"{option} {text}: not a date", hint="write YYYY-MM-DD") from None


@initiative_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short unique name")],
    start: Annotated[str, typer.Option("--start", help="Start date, YYYY-MM-DD")],
    place: Annotated[str, typer.Option("--place", help="Country code or name, or US-XX")],
    indicator: Annotated[
        list[str],
        typer.Option(
            "--indicator",
            help="cases, cases:origin, or SOURCE:INDICATOR such as 'polaris:Hotline calls'; repeat",
        ),
    ],
    comparison: Annotated[
        list[str] | None, typer.Option("--comparison", help="A comparison place; repeat")
    ] = None,
    end: Annotated[str | None, typer.Option("--end", help="End date, YYYY-MM-DD")] = None,
    description: Annotated[str, typer.Option("--description", help="What the initiative did")] = "",
) -> None:
    """Declare an initiative: when and where it started and which indicators to watch."""
    initiative = Initiative(
        name=name,
        start_date=_date(start, "--start"),
        place=resolve_place(place)[0],
        indicators=list(indicator),
        comparison_places=[resolve_place(p)[0] for p in comparison or []],
        end_date=_date(end, "--end") if end else None,
        description=description,
    )
    with open_workspace(ctx, create=True) as workspace:
        add_initiative(workspace.engine, initiative)
    note(f"initiative '{name}' recorded; estimate its effect with 'ctip evaluate {name}'")


@initiative_app.command("list")
def list_(
    ctx: typer.Context, fmt: Annotated[OutputFormat | None, typer.Option("--format")] = None
) -> None:
    """The declared initiatives."""
    with open_workspace(ctx) as workspace:
        rows = list_initiatives(workspace.engine)
    emit_rows(rows, resolve(fmt), empty="no initiatives: declare one with 'ctip initiative add'")


@initiative_app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The initiative")]) -> None:
    """Forget an initiative."""
    with open_workspace(ctx) as workspace:
        if not workspace.engine.scalar("SELECT count(*) FROM initiatives WHERE name = ?", [name]):
            raise NotFoundError(f"no initiative named '{name}'")
        workspace.engine.sql("DELETE FROM initiatives WHERE name = ?", [name])
    note(f"removed '{name}'")


def evaluate_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="An initiative from 'ctip initiative list'")],
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
    ] = None,
) -> None:
    """Estimate an initiative's effect: interrupted time series and, with comparison places,
    difference-in-differences, with 95% intervals and a plain-language caveat."""
    with open_workspace(ctx) as workspace:
        results = evaluate(workspace.engine, name)
    output = resolve(fmt)
    if output in ("json", "jsonl"):
        emit_rows([r.as_dict() for r in results], output)
        return
    rows = []
    for result in results:
        estimate_text = "; ".join(
            f"{key}: {e.value:+.1f} (95% CI {e.low:+.1f} to {e.high:+.1f}, p={e.p_value:.2f})"
            for key, e in result.estimates.items()
        )
        rows.append(
            {
                "indicator": result.indicator,
                "method": result.method,
                "years before/after": f"{result.years_before}/{result.years_after}",
                "estimate": estimate_text or "none",
                "caveat": result.caveat,
            }
        )
    emit_rows(rows, output, title=f"Evaluation of '{name}'")
