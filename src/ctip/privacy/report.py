"""The report's release page: every release made from the workspace, what it protects and keeps."""

from __future__ import annotations

from ctip.capabilities import ReportContext, Section
from ctip.privacy.page import kanon_fragment, synthetic_fragment
from ctip.privacy.release import release_summaries


def release_section(context: ReportContext) -> Section | None:
    engine = context.workspace.engine
    exists = engine.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'releases'"
    )
    if not exists:
        return None
    summaries = release_summaries(engine)
    if not summaries:
        return None
    parts = [
        "<p>Releases made from this workspace (newest first). Each file was written with a"
        " report and a page of its own beside it.</p>"
    ]
    for summary in summaries:
        if summary.get("kind") == "kanon":
            parts.append("<h3>k-anonymous extract</h3>" + kanon_fragment(summary))
        else:
            parts.append("<h3>Synthetic data</h3>" + synthetic_fragment(summary))
    return Section("releases", "Public releases", "\n".join(parts), order=80)
