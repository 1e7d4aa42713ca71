"""Old entry point, kept for scripts that call ``bot.cli:main``: the CLI lives in :mod:`bot.app.cli`."""

from bot.app.cli import main

__all__ = ["main"]
