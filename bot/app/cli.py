"""The ``ragbot`` command: parse the arguments and dispatch to one command module.

Each command lives in its own ``commands_*`` module, which exposes ``register(commands)``:
it adds its subparser and sets ``run`` (``args -> exit code``) as the parser's default. To add
a command, write such a module and add it to :data:`COMMANDS`; the order there is the order
of ``ragbot --help``. Command modules import heavy libraries inside ``run``, so ``ragbot ask``
does not pay for ``ragbot serve``'s imports.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from bot.app import (
    commands_ask,
    commands_eval,
    commands_gaps,
    commands_index,
    commands_serve,
    commands_sets,
    commands_setup,
    commands_status,
    commands_train,
)
from bot.errors import RagbotError

__all__ = ["COMMANDS", "build_parser", "main"]

# One line per command module: ``register(commands)`` adds its subparsers.
COMMANDS = (
    commands_index,
    commands_ask,
    commands_eval,
    commands_sets,
    commands_status,
    commands_gaps,
    commands_train,
    commands_serve,
    commands_setup,
)


def _quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragbot", description="Ask your team's docs, with citations.")
    parser.add_argument("--config", help="TOML config file (default: $RAGBOT_CONFIG, then ./ragbot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=os.environ.get("RAGBOT_LOG_FORMAT", "text").strip().lower(),
        help="log lines as text or JSON (default: $RAGBOT_LOG_FORMAT or text)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_libraries()
    args = build_parser().parse_args(argv)
    from bot.logs import configure_logging, redact

    configure_logging(logging.INFO if args.verbose else logging.WARNING, json_format=args.log_format == "json")
    try:
        return int(args.run(args))
    except RagbotError as exc:  # every error line is redacted: messages can quote servers' replies
        print(redact(f"error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the index keeps every document in its old or new version", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or an unexpected library failure: still one clear line
        if args.verbose:
            logging.exception("unexpected failure")
        print(
            redact(f"error: unexpected failure ({type(exc).__name__}: {exc}); rerun with -v for details"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
