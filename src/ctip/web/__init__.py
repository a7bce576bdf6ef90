"""The web dashboard: server-rendered pages on the hub, with the hub's sessions and access rules.

Pages are Jinja2 templates rendered by thin route handlers that call the same service functions
as the API and the CLI; charts and maps are server-side SVG from ``ctip.report`` and
``ctip.spatial``; a little vanilla JavaScript (served from this package) adds progress polling,
the time slider and the canvas network graph. Nothing is fetched from another origin.
"""
