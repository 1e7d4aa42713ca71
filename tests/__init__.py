"""ragbot's tests: ``unit/`` checks one part in-process, ``scenarios/`` walks what a user does
(the CLI, ``ragbot serve``, a chat adapter, a source syncing a platform), ``support/`` holds the fakes
and helpers both share. Shared fixtures are in ``conftest.py``."""
