"""The composition root: the one package that wires the core, the indexer and the adapters together.

Everything else in ``bot/`` is the core and never imports ``indexer`` or ``adapters``
(tests/unit/test_architecture.py checks it); the indexer never imports the adapters. This package
parses the command line (:mod:`bot.app.cli`), loads the configuration, builds the parts
(:mod:`bot.app.build`), and starts the adapters and the scheduler (:mod:`bot.app.serve`).
"""
