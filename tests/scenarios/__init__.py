"""What a user does, end to end: the CLI, ``ragbot serve``, Slack and Discord against fake
platforms on 127.0.0.1, sources syncing fake APIs."""
