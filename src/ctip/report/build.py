"""Assemble the report from every capability's sections and write one HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ctip import __version__
from ctip.capabilities import ReportContext, Section, capability_modules
from ctip.report.quality import provenance_section, quality_section


def collect_sections(context: ReportContext) -> list[Section]:
    sections: list[Section] = []
    for module in capability_modules():
        provider = getattr(module, "report_sections", None)
        if provider is not None:
            sections.extend(provider(context))
    sections.extend([quality_section(context), provenance_section(context)])
    return sorted(sections, key=lambda s: s.order)


def render_report(context: ReportContext, title: str = "CTIP report") -> str:
    environment = Environment(
        loader=PackageLoader("ctip.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        title=title,
        version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        workspace=str(context.workspace.path),
        threshold=context.threshold,
        exact=context.exact,
        sections=collect_sections(context),
    )


def write_report(context: ReportContext, out: Path, title: str = "CTIP report") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(context, title), encoding="utf-8")
    return out
