"""``python -m ctip``."""

from ctip.cli.main import run

run()
