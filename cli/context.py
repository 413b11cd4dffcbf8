"""What a command handler needs: the configuration and the store."""

from __future__ import annotations

import getpass
import json
import sys

from pishkhan.config import Config, load_config
from pishkhan.store.database import Store, open_store


def config(args) -> Config:
    return load_config(getattr(args, "config", None))


def store(cfg: Config) -> Store:
    return open_store(cfg)


def actor() -> str:
    """Who runs this command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def print_json(data) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
