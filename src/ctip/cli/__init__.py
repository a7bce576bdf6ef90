"""The ``ctip`` command line: thin Typer commands that parse, call a service, render."""
