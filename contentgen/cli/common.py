"""What every command shares: settings from the flags, the service, and printing for people or scripts."""

from __future__ import annotations

import argparse
import json
from typing import Any

from contentgen.config import Settings, load_settings
from contentgen.runtime import build_service, build_store
from contentgen.usecases.service import ContentService


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings().with_overrides(model=args.model, db=args.db, user=args.user)


def service_of(args: argparse.Namespace) -> ContentService:
    return build_service(settings_of(args), source="cli")


def store_of(args: argparse.Namespace):  # noqa: ANN201  (db.database.Database)
    return build_store(settings_of(args))


def emit(args: argparse.Namespace, payload: Any, human: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=None))
    else:
        print(human)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")
