"""Indexing: source -> parse -> chunk -> embed -> store."""
