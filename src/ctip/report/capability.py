"""``ctip report``: the self-contained HTML report (optionally PDF), and the demo's last step."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from ctip.capabilities import DemoContext, ReportContext
from ctip.cli.context import open_workspace, state
from ctip.cli.output import note
from ctip.errors import CtipError
from ctip.report.build import write_report

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def html_to_pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the report with headless Chromium (Debian's package), no network."""
    executable = chromium_path()
    if executable is None:
        raise CtipError("PDF needs Chromium", hint="install it with 'apt-get install chromium'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.goto(html_path.resolve().as_uri())
        page.pdf(path=str(pdf_path), format="A4", print_background=True)
        browser.close()


def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path("report.html"),
    title: Annotated[str, typer.Option("--title", help="Report title")] = "CTIP report",
    threshold: Annotated[
        int | None, typer.Option("--threshold", min=1, help="Show counts below k as <k")
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Exact internal figures (not for publication)")
    ] = False,
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also write a PDF next to the HTML (needs Chromium)")
    ] = False,
) -> None:
    """Write one self-contained HTML report: figures, trends, routes, maps, profile, indicators,
    evaluations, data quality and provenance, with small counts protected."""
    settings = state(ctx).settings
    with open_workspace(ctx) as workspace:
        context = ReportContext(
            workspace, settings, threshold or settings.small_count_threshold, exact
        )
        path = write_report(context, out, title)
    note(
        f"wrote {path} ({path.stat().st_size / 1024:,.0f} KiB); open it in any browser, no network needed"
    )
    if pdf:
        pdf_path = out.with_suffix(".pdf")
        html_to_pdf(out, pdf_path)
        note(f"wrote {pdf_path}")


def register_cli(app: typer.Typer) -> None:
    app.command("report")(report)


def demo(context: DemoContext) -> None:
    out = context.workspace.path / "report.html"
    report_context = ReportContext(
        context.workspace, context.settings, context.settings.small_count_threshold, False
    )
    write_report(report_context, out, "CTIP demo report")
    context.say(
        f"[bold]report written: {out.resolve()}[/bold] - open it in a browser (works offline)"
    )
    context.results.setdefault("next_steps", []).append(
        f"Open the report: {out.resolve().as_uri()}"
    )
