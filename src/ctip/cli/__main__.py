"""``python -m ctip.cli``."""

from ctip.cli.main import run

run()
