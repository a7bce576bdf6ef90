"""CTIP: counter-trafficking intelligence platform.

Harmonises victim case records to the IOM Human Trafficking Case Data Standard (HTCDS) and the
CTDC global dataset format, keeps them in a local DuckDB workspace with provenance, and builds
analytics, screening, linkage and secure sharing on top.
"""

__version__ = "0.1.0"
