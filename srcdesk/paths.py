"""Where things live: the data folder and the shipped resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

DB_FILENAME = "srcdesk.sqlite3"


def resources_dir() -> Path:
    """``resources/`` beside the package, or inside a frozen (PyInstaller) build."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def default_data_dir() -> Path:
    env = os.environ.get("SRCDESK_HOME")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("srcdesk", appauthor=False))


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_FILENAME


def backups_dir(data_dir: Path) -> Path:
    return data_dir / "backups"


def log_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def sample_data_dir(data_dir: Path) -> Path:
    """Where "Explore with sample data" keeps its separate installation: beside the real data,
    never in it (``…/srcdesk`` → ``…/srcdesk-sample``)."""
    return data_dir.with_name(data_dir.name + "-sample")
