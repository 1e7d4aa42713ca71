"""Fakes (platform APIs, an HTTP docs site, a git server, Qdrant, an LLM) and helpers the tests share;
never a test module: test modules import from here, not from each other."""
