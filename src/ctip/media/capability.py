"""``ctip media ...``: hash, store, match and group images; the hotel gallery; case matches."""

from __future__ import annotations

import base64
import getpass
from html import escape
from pathlib import Path
from typing import Annotated, Any

import typer

from ctip.capabilities import DemoContext, ReportContext, Section
from ctip.cli.context import open_workspace
from ctip.cli.output import OutputFormat, ReportFormat, emit_object, emit_rows, note, resolve
from ctip.errors import BadInputError
from ctip.media.adlinks import ad_image_link_rows, hash_ad_images
from ctip.media.hashing import MATCH_DISTANCE
from ctip.media.service import (
    add_to_gallery,
    decide_match,
    hash_paths,
    import_images,
    match_images,
    near_duplicate_groups,
    queue_case_matches,
    search_hotels,
)

app = typer.Typer(
    help="Images: PDQ perceptual hashes, matching, near-duplicate groups, hotel gallery."
)
gallery_app = typer.Typer(
    help="The hotel-room gallery: contributed room photos with hotel details."
)
app.add_typer(gallery_app, name="gallery")

Paths = Annotated[list[Path], typer.Argument(help="Image files or folders")]
FormatOption = Annotated[
    OutputFormat | None, typer.Option("--format", help="table, json, jsonl or csv")
]
DistanceOption = Annotated[
    int,
    typer.Option(
        "--max-distance",
        min=0,
        max=128,
        help="Largest Hamming distance (of 256 bits) that counts as a match",
    ),
]


@app.command("hash")
def hash_command(
    paths: Paths,
    dihedral: Annotated[
        bool, typer.Option("--dihedral", help="Also hash the 8 rotations and flips")
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """PDQ hash, quality and SHA-256 of each image; unreadable files are reported and skipped."""
    rows: list[dict[str, Any]] = []
    failures = 0
    for result in hash_paths(paths, dihedral=dihedral):
        if result.hash is None:
            failures += 1
            note(f"[yellow]skipped[/yellow] {result.path}: {result.error}")
            continue
        image = result.hash
        row: dict[str, Any] = {
            "file": str(result.path),
            "sha256": image.sha256,
            "pdq": image.pdq,
            "quality": image.quality,
            "width": image.width,
            "height": image.height,
        }
        if dihedral:
            row["dihedral"] = list(image.dihedral)
        rows.append(row)
    emit_rows(rows, resolve(fmt))
    if failures:
        note(f"{failures} file(s) could not be read")


@app.command("add")
def add(
    ctx: typer.Context,
    paths: Paths,
    source: Annotated[str, typer.Option("--source", help="Where the images come from")] = "images",
    ad: Annotated[str | None, typer.Option("--ad", help="Attach the images to this ad id")] = None,
    case: Annotated[
        str | None, typer.Option("--case", help="Attach the images to this case id")
    ] = None,
    fmt: Annotated[ReportFormat | None, typer.Option("--format", help="table or json")] = None,
) -> None:
    """Hash and store images in the workspace (EXIF stripped), optionally attached to an ad or case."""
    if ad and case:
        raise BadInputError("attach to an ad or a case, not both")
    link = ("ad", ad) if ad else (("case", case) if case else None)
    with open_workspace(ctx, create=True) as workspace:
        report = import_images(workspace, paths, source=source, link=link)
    emit_object(report.as_dict(), resolve(fmt, listing=False), title="Images")


@app.command("match")
def match(
    ctx: typer.Context,
    queries: Paths,
    max_distance: DistanceOption = MATCH_DISTANCE,
    include_low_quality: Annotated[
        bool, typer.Option("--include-low-quality", help="Also match stored hashes of quality < 50")
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Find stored images within --max-distance of each query (all 8 rotations/flips tried).

    Prints {"query", "match", "distance", "quality"} per match (plus the matched file name).
    """
    with open_workspace(ctx) as workspace:
        rows, failed = match_images(
            workspace, queries, max_distance=max_distance, include_low_quality=include_low_quality
        )
    for result in failed:
        note(f"[yellow]skipped[/yellow] {result.path}: {result.error}")
    emit_rows(
        rows,
        resolve(fmt),
        columns=["query", "match", "distance", "quality", "match_file"],
        empty="no matches",
    )


@app.command("groups")
def groups(
    ctx: typer.Context, max_distance: DistanceOption = MATCH_DISTANCE, fmt: FormatOption = None
) -> None:
    """Groups of near-duplicate stored images (each within the distance of another)."""
    with open_workspace(ctx) as workspace:
        rows = near_duplicate_groups(workspace.engine, max_distance=max_distance)
    emit_rows(rows, resolve(fmt), empty="no near-duplicate images")


@gallery_app.command("add")
def gallery_add(
    ctx: typer.Context,
    paths: Paths,
    hotel: Annotated[str, typer.Option("--hotel", help="Hotel name")],
    chain: Annotated[str | None, typer.Option("--chain")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    lat: Annotated[float | None, typer.Option("--lat", min=-90, max=90)] = None,
    lon: Annotated[float | None, typer.Option("--lon", min=-180, max=180)] = None,
    room: Annotated[str | None, typer.Option("--room", help="Room number or type")] = None,
    contributor: Annotated[str | None, typer.Option("--contributor")] = None,
) -> None:
    """Add room photos to the hotel gallery with the hotel's details."""
    with open_workspace(ctx, create=True) as workspace:
        report = add_to_gallery(
            workspace,
            paths,
            hotel=hotel,
            chain=chain,
            address=address,
            latitude=lat,
            longitude=lon,
            room=room,
            contributor=contributor,
        )
    note(
        f"gallery: {report.loaded} new photos, {report.duplicates} already known, {report.quarantined} unreadable"
    )


@app.command("hotel")
def hotel(
    ctx: typer.Context,
    query: Annotated[Path, typer.Argument(help="A photo taken in a hotel room")],
    top: Annotated[int, typer.Option("--top", min=1)] = 10,
    fmt: FormatOption = None,
) -> None:
    """Rank gallery hotels for a photo: re-posted copies first, then similar rooms (weak evidence)."""
    with open_workspace(ctx) as workspace:
        ranked = search_hotels(workspace, query, top=top)
    emit_rows(
        ranked, resolve(fmt), columns=["name", "chain", "address", "score", "evidence", "photos"]
    )


@app.command("match-cases")
def match_cases(ctx: typer.Context, max_distance: DistanceOption = MATCH_DISTANCE) -> None:
    """Match images attached to cases against all stored images; queue matches for review."""
    with open_workspace(ctx) as workspace:
        queued = queue_case_matches(workspace, max_distance=max_distance)
    note(f"{queued} new match(es) queued for review: 'ctip media queue'")


@app.command("queue")
def queue(
    ctx: typer.Context,
    status: Annotated[
        str, typer.Option("--status", help="pending, confirmed, rejected or all")
    ] = "pending",
    fmt: FormatOption = None,
) -> None:
    """Case-image matches waiting for (or given) a person's decision."""
    with open_workspace(ctx) as workspace:
        condition = "true" if status == "all" else "status = ?"
        rows = workspace.engine.records(
            f"SELECT match_id, case_id, query_image, match_image, distance, status, decided_by, decided_at"
            f" FROM image_match_queue WHERE {condition} ORDER BY queued_at, match_id",
            [] if status == "all" else [status],
        )
    emit_rows(rows, resolve(fmt), empty="nothing in the queue")


@app.command("decide")
def decide(
    ctx: typer.Context,
    match_id: Annotated[str, typer.Argument(help="From 'ctip media queue'")],
    decision: Annotated[str, typer.Argument(help="confirm or reject")],
    note_text: Annotated[str | None, typer.Option("--note")] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who decides (default: your user name)")
    ] = None,
) -> None:
    """Confirm or reject a queued case-image match; the decision is kept with who and when."""
    mapped = {"confirm": "confirmed", "reject": "rejected"}.get(decision, decision)
    with open_workspace(ctx) as workspace:
        decide_match(workspace, match_id, mapped, by or getpass.getuser(), note_text)
    note(f"{match_id}: {mapped}")


@app.command("link-ads")
def link_ads(
    ctx: typer.Context,
    base: Annotated[
        Path, typer.Option("--base", help="Folder that relative image paths in ads start from")
    ] = Path(),
) -> None:
    """Hash the photos ads name (local files) so ad networks link ads that share a photo."""
    with open_workspace(ctx) as workspace:
        report = hash_ad_images(workspace, base)
    note(
        f"ad images: {report.read} read, {report.loaded} new, {report.duplicates} known,"
        f" {report.quarantined} unreadable; run 'ctip ads networks' to use them"
    )


def register_cli(root: typer.Typer) -> None:
    root.add_typer(app, name="media")


def _register_ad_links() -> None:
    """Give the ad network builder its "shares a photo" links (when the ads part is installed)."""
    try:
        from ctip.ads.service import register_link_source
    except ImportError:
        return
    register_link_source(ad_image_link_rows)


_register_ad_links()


def demo(context: DemoContext) -> None:
    """Hash the shared UKBench photos, find near-duplicates, and build a small gallery."""
    if context.data_dir is None or not (context.data_dir / "images").is_dir():
        context.say("images not found: skipping media")
        return
    images = context.data_dir / "images"
    workspace = context.workspace
    report = import_images(
        workspace, [images / "base_images", images / "mixed_images"], source="UKBench demo photos"
    )
    context.say(
        f"hashed {report.read} images: {report.loaded} new, {report.duplicates} known,"
        f" {report.quarantined} unreadable (kept in quarantine)"
    )
    base = sorted((images / "base_images").glob("*.jpg"))
    for index, photo in enumerate(base[:6]):
        add_to_gallery(
            workspace,
            [photo],
            hotel=f"Demo Hotel {index // 2 + 1}",
            room=str(101 + index),
            contributor="demo",
        )
    groups = near_duplicate_groups(workspace.engine)
    context.say(f"near-duplicate image groups: {len(groups)}")


def _thumb(workspace: Any, image_id: str) -> str:
    data = workspace.engine.scalar("SELECT thumbnail FROM images WHERE image_id = ?", [image_id])
    if data is None:
        return ""
    encoded = base64.b64encode(bytes(data)).decode()
    return f'<img alt="image {escape(image_id[:12])}" src="data:image/jpeg;base64,{encoded}" height="80">'


def report_sections(context: ReportContext) -> list[Section]:
    workspace = context.workspace
    total = int(workspace.engine.scalar("SELECT count(*) FROM images") or 0)
    if not total:
        return []
    groups = near_duplicate_groups(workspace.engine)[:10]
    hotels = int(workspace.engine.scalar("SELECT count(*) FROM hotels") or 0)
    pending = int(
        workspace.engine.scalar("SELECT count(*) FROM image_match_queue WHERE status = 'pending'")
        or 0
    )
    rows = "".join(
        f"<tr><td>{escape(g['group'])}</td><td>{g['size']}</td><td>{''.join(_thumb(workspace, i) for i in g['images'][:6])}</td></tr>"
        for g in groups
    )
    html = (
        f"<p>{total:,} images hashed (PDQ, match at Hamming distance ≤ {MATCH_DISTANCE}; hashes of"
        f" quality below 50 are not matched). Hotel gallery: {hotels:,} hotels. Case-image matches"
        f" awaiting review: {pending:,}.</p><h3>Near-duplicate groups</h3>"
        + (
            f'<table class="data"><thead><tr><th>Group</th><th>Images</th><th>Thumbnails (EXIF-free)</th></tr></thead><tbody>{rows}</tbody></table>'
            if rows
            else "<p>None.</p>"
        )
    )
    return [Section("media", "Images", html, order=95)]
