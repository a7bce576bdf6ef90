"""Ads and images: hash the photos ads carry, and give ad networks "shares a photo" links.

Two ads that show the same photo, or a resized, re-compressed or mirrored copy of it, share a
near-duplicate group; each group becomes a link value of kind ``image`` for the ad networks
(``ctip.ads.service.register_link_source``). Exact URL or file-name matches are linked by the
ads package itself; this adds what only the pixels can tell.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from ctip.engine.duckdb import DuckDBEngine
from ctip.media.service import MediaImportReport, image_group_links, import_images
from ctip.workspace import Workspace


def hash_ad_images(workspace: Workspace, base: Path) -> MediaImportReport:
    """Hash every image an ad names that exists as a file (absolute, or relative to ``base``)."""
    total = MediaImportReport("img-ads", "ad images")
    rows = workspace.engine.rows("SELECT id, images FROM ads WHERE len(images) > 0 ORDER BY ad_key")
    for ad_id, images in rows:
        files = []
        for reference in images:
            path = Path(reference)
            candidate = path if path.is_absolute() else base / path
            if candidate.is_file():
                files.append(candidate)
        if files:
            report = import_images(workspace, files, source="ad images", link=("ad", str(ad_id)))
            total.read += report.read
            total.loaded += report.loaded
            total.quarantined += report.quarantined
            total.duplicates += report.duplicates
    return total


def ad_image_link_rows(engine: DuckDBEngine) -> pa.Table:
    """(ad_key, "image", group) rows for the ad network builder."""
    has_tables = engine.scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('ads', 'image_links')"
    )
    links = image_group_links(engine, "ad") if has_tables == 2 else []
    if not links:
        return pa.table(
            {
                "ad_key": pa.array([], pa.string()),
                "kind": pa.array([], pa.string()),
                "value": pa.array([], pa.string()),
            }
        )
    engine.register(
        "_ctip_ad_images",
        pa.table({"id": [a for a, _ in links], "group_id": [g for _, g in links]}),
    )
    table = engine.to_arrow(
        "SELECT a.ad_key::VARCHAR AS ad_key, 'image' AS kind, 'pdq:' || l.group_id AS value"
        " FROM _ctip_ad_images l JOIN ads a ON a.id = l.id"
    )
    engine.unregister("_ctip_ad_images")
    return table
