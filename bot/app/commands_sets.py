"""``ragbot sets``: which document sets one chat conversation may search (checks access rules)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.app.common import load

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    sets = commands.add_parser("sets", help="show which document sets a chat conversation may search")
    where = sets.add_mutually_exclusive_group(required=True)
    where.add_argument("--slack-channel", metavar="ID")
    where.add_argument("--discord-channel", metavar="ID", help="with --discord-guild")
    where.add_argument("--dm", action="store_true", help="direct messages")
    sets.add_argument("--discord-guild", metavar="ID")
    sets.add_argument("--private", action="store_true", help="the channel is private")
    sets.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from bot.access import Conversation, describe_sets, sets_for

    settings = load(args)
    if args.dm:
        conversation = Conversation("slack", is_dm=True)
    elif args.slack_channel:
        conversation = Conversation("slack", channel=args.slack_channel, is_private=args.private)
    else:
        conversation = Conversation(
            "discord", channel=args.discord_channel, guild=args.discord_guild, is_private=args.private
        )
    print(describe_sets(sets_for(settings.access, conversation)))
    return 0
