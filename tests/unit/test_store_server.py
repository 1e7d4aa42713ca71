"""The server engine over HTTP, against tests/support/fake_qdrant.py (qdrant-client's own engine behind
Qdrant's REST endpoints): what only a server shows. Another process makes the collection,
metadata goes through the REST API, and the chat state the replicas share lives beside the index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chatstate import SqliteChatState, open_chat_state
from bot.chatstate.qdrant import QdrantChatState
from bot.config import Settings, StoreConfig
from bot.errors import StoreMismatch
from bot.store import open_store
from bot.store.qdrant import QdrantClientStore
from tests.support.fake_qdrant import FakeQdrant, running_fake_qdrant
from tests.support.stored import DIM, chunks_for


@pytest.fixture()
def qdrant() -> Iterator[FakeQdrant]:
    with running_fake_qdrant() as fake:
        yield fake


def test_an_index_another_process_builds_is_searched_once_a_probe_sees_it(qdrant: FakeQdrant) -> None:
    serving = QdrantClientStore("docs", StoreConfig(url=qdrant.url))
    indexing = QdrantClientStore("docs", StoreConfig(url=qdrant.url))
    try:
        assert not serving.collection_exists()  # the bot started before the first index run
        indexing.ensure_collection(DIM, "test-model")
        chunks, vectors = chunks_for("a", 2, "v1")
        indexing.replace_document(chunks, vectors)

        assert serving.probe()  # readiness asks the server...
        assert serving.collection_exists() and serving.count() == 2  # ...and the answer sticks
        assert serving.search(vectors[1], k=1)[0].chunk_index == 1
    finally:
        serving.close()
        indexing.close()


def test_a_server_collection_keeps_recorded_metadata_and_refuses_another_model(qdrant: FakeQdrant) -> None:
    first = QdrantClientStore("docs", StoreConfig(url=qdrant.url))
    first.ensure_collection(DIM, "test-model")
    first.update_meta({"query_encoder": "enc-1"})
    first.close()

    second = QdrantClientStore("docs", StoreConfig(url=qdrant.url))
    try:
        assert second.meta()["query_encoder"] == "enc-1" and second.meta()["embedding_model"] == "test-model"
        with pytest.raises(StoreMismatch, match="built with the embedding model 'test-model'"):
            second.ensure_collection(DIM, "other-model-same-size")
    finally:
        second.close()


def test_replicas_of_a_server_index_share_chat_state_on_that_server(qdrant: FakeQdrant, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, collection="docs", store=StoreConfig(url=qdrant.url))
    store = open_store(settings)
    try:
        assert store.shared_across_machines
        first = open_chat_state(settings, store)
        assert isinstance(first, QdrantChatState)
        first.remember_answer("slack", "m1", "how do I deploy?", "Run make deploy.", ["https://docs.example/d"])
        assert first.vote("slack", "m1", "U1", "up") is not None
        first.close()

        assert store.probe() is False  # closing the chat state left the store's connection alone
        other_replica = open_chat_state(settings, store)
        assert other_replica.feedback_counts() == {"up": 1, "down": 0}
        other_replica.close()
        assert qdrant.engine.collection_exists("docs_chat")
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["edge", "local"])
def test_an_embedded_index_keeps_chat_state_on_this_machine(backend: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, store=StoreConfig(backend=backend))
    store = open_store(settings)
    try:
        assert not store.shared_across_machines
        state = open_chat_state(settings, store)
        assert isinstance(state, SqliteChatState)
        state.close()
    finally:
        store.close()
