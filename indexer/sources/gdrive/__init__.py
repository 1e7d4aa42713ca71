"""The ``gdrive`` source: Google Docs, Sheets, PDF and Word files in Drive folders or a shared drive.

``config`` (the model) is imported by ``indexer.config``; the rest only when a source of this
type runs, so this package imports nothing at load time.
"""
