"""One part of ragbot at a time, in-process, with its real dependencies."""
