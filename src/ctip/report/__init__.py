"""Self-contained HTML reports: inline CSS and SVG, no network needed to open them."""
