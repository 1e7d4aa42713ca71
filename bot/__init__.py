"""ragbot: the shared RAG core (config, embedder, store, retriever, generator, CLI)."""
