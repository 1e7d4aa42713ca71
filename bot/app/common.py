"""Helpers every command shares: load the settings once, print redacted JSON, name an error."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from bot.errors import RagbotError

if TYPE_CHECKING:
    from bot.app.settings import AppSettings

__all__ = ["load", "print_json", "one_line"]


def load(args: argparse.Namespace) -> AppSettings:
    """Load the configuration, and teach the redactor its secrets before anything can print them."""
    from bot.app.settings import load_settings
    from bot.logs import register_settings_secrets

    settings = load_settings(args.config)
    register_settings_secrets(settings)
    return settings


def print_json(payload: dict[str, Any]) -> None:
    """One JSON object on stdout, redacted like every other line the CLI prints: source errors
    quote servers' replies, which can echo credentials."""
    from bot.logs import redact

    print(redact(json.dumps(payload, ensure_ascii=False)))


def one_line(exc: Exception) -> str:
    """The error as the CLI prints it (RagbotError messages are for users; anything else is named)."""
    return str(exc) if isinstance(exc, RagbotError) else f"unexpected failure ({type(exc).__name__}: {exc})"
