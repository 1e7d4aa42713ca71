"""The ``confluence`` source: Confluence Cloud and Data Center pages, through the REST API.

``config`` (the model) is imported by ``indexer.config``; ``sync`` (the connector) only when a
source of this type runs, so this package imports nothing at load time.
"""
