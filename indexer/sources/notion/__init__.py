"""The ``notion`` source: pages under root pages, and database rows, through notion-client.

``config`` (the model) is imported by ``indexer.config``; ``sync`` only when a source of this
type runs, so this package imports nothing at load time.
"""
