"""Access to the data files shipped inside the package (schema, code lists, mappings)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import yaml


def read_text(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


@cache
def load_yaml(package: str, name: str) -> Any:
    return yaml.safe_load(read_text(package, name))


@cache
def load_json(package: str, name: str) -> Any:
    return json.loads(read_text(package, name))


def list_files(package: str, suffix: str) -> list[str]:
    return sorted(
        entry.name for entry in resources.files(package).iterdir() if entry.name.endswith(suffix)
    )
