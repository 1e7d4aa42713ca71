"""The ``slack`` source: resolved threads of chosen channels, as question + accepted answer.

``config`` (the model) is imported by ``indexer.config``; ``sync`` only when a source of this
type runs, so this package imports nothing at load time.
"""
