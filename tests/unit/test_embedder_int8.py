"""The int8 encoder is the default on a CPU: close to fp32 on real chunks, torch-free for
questions, and never mixed with fp32 vectors in one index."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import EmbeddingConfig, StoreConfig
from bot.embedder import Embedder, resolve_embedding_model
from bot.embedder_precision import PRECISION_KEY, cpu_has_int8_dot_product, fit_index
from bot.errors import StoreMismatch
from bot.store.edge import EdgeStore

REPO = Path(__file__).resolve().parents[2]
HANDBOOK = REPO / "samples" / "handbook"


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One int8 build for the module (it imports torch once, to export the model)."""
    cache = tmp_path_factory.mktemp("int8-models")
    Embedder(EmbeddingConfig(precision="int8"), cache_dir=cache).embed(["warm up"])
    return cache


@pytest.fixture(scope="module")
def handbook_chunks() -> list[str]:
    """Every chunk of the sample handbook, as the indexer would embed it."""
    from indexer.chunk import Chunker
    from indexer.config import ChunkingConfig, FilesSource
    from indexer.parse import parse_document
    from indexer.sources.files import list_files

    chunker = Chunker(Embedder(EmbeddingConfig(precision="fp32")).tokenizer, ChunkingConfig())
    documents = list_files(FilesSource(name="handbook", path=HANDBOOK), 5_000_000).documents
    return [c.embedding_text for doc in documents for c in chunker.chunk(doc, parse_document(doc))]


def test_int8_vectors_of_real_chunks_stay_within_0_97_of_fp32(int8_cache: Path, handbook_chunks: list[str]) -> None:
    int8 = Embedder(EmbeddingConfig(precision="int8"), cache_dir=int8_cache)
    fp32 = Embedder(EmbeddingConfig(precision="fp32"))

    cosines = np.sum(int8.embed(handbook_chunks) * fp32.embed(handbook_chunks), axis=1)

    assert len(handbook_chunks) > 50
    assert cosines.min() >= 0.97, cosines.min()


def test_the_cached_int8_model_runs_its_matmuls_in_int8(int8_cache: Path) -> None:
    import onnx

    from bot.embedder import resolve_embedding_model
    from bot.embedder_int8 import cached_int8_model

    built = cached_int8_model(resolve_embedding_model("all-MiniLM-L6-v2"), int8_cache)
    assert built is not None
    ops = {node.op_type for node in onnx.load(str(built), load_external_data=False).graph.node}

    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops  # weights int8 per channel, activations on the fly


def test_precision_defaults_to_int8_on_a_cpu_with_onnxruntime() -> None:
    assert EmbeddingConfig().precision == "auto"
    assert Embedder(EmbeddingConfig()).precision == "int8"
    assert Embedder(EmbeddingConfig(device="cpu", precision="fp32")).precision == "fp32"


def test_old_config_files_with_fp32_or_int8_still_load(tmp_path: Path) -> None:
    from bot.app.settings import load_settings

    for value in ("fp32", "int8"):
        path = tmp_path / f"{value}.toml"
        path.write_text(f'data_dir = "{tmp_path}"\n[embedding]\nprecision = "{value}"\n', encoding="utf-8")
        settings = load_settings(path)
        assert settings.embedding.precision == value
        assert Embedder(settings.embedding).precision == value


def test_a_question_on_the_int8_path_never_imports_torch_or_transformers(int8_cache: Path) -> None:
    script = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from bot.config import EmbeddingConfig\n"
        "from bot.embedder import Embedder\n"
        f"e = Embedder(EmbeddingConfig(), cache_dir=Path({str(int8_cache)!r}))\n"
        "v = e.embed_query('how much is the on-call stipend?')\n"
        "heavy = sorted(m for m in ('torch', 'transformers') if m in sys.modules)\n"
        "print(json.dumps({'dim': len(v), 'heavy': heavy}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"dim": 384, "heavy": []}


def _store(root: Path) -> EdgeStore:
    return EdgeStore(root / "edge", StoreConfig())


def test_a_new_index_records_the_precision_that_built_it(int8_cache: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    embedder = Embedder(EmbeddingConfig(), cache_dir=int8_cache)

    fit_index(embedder, store, 384)

    assert store.meta()[PRECISION_KEY] == "int8"


def test_auto_keeps_an_index_built_before_precision_was_recorded_on_fp32(
    int8_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Upgrading must neither re-embed nor wipe an fp32 index, nor search it with int8 vectors."""
    store = _store(tmp_path)
    store.ensure_collection(384, "all-MiniLM-L6-v2")  # what older versions made: no precision recorded
    embedder = Embedder(EmbeddingConfig(), cache_dir=int8_cache)
    embedder.embed(["loaded as int8 first, as a server does before its first question"])

    with caplog.at_level(logging.INFO, logger="bot.embedder"):
        fit_index(embedder, store, 384)

    assert embedder.precision == "fp32"
    fp32 = Embedder(EmbeddingConfig(precision="fp32")).embed_query("Can I deploy on a Friday?")
    np.testing.assert_allclose(embedder.embed_query("Can I deploy on a Friday?"), fp32, atol=1e-5)
    assert "precision this index was built with" in caplog.text


def test_an_explicit_precision_other_than_the_recorded_one_is_refused_and_nothing_is_deleted(
    int8_cache: Path, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    fit_index(Embedder(EmbeddingConfig(precision="int8"), cache_dir=int8_cache), store, 384)
    before = store.meta()

    with pytest.raises(StoreMismatch, match=r"built with int8 vectors.*precision is 'fp32'.*\"auto\" or 'int8'"):
        fit_index(Embedder(EmbeddingConfig(precision="fp32")), store, 384)

    assert store.meta() == before
    assert Embedder(EmbeddingConfig(), cache_dir=int8_cache).precision == "int8"  # auto fits it


def test_a_bot_on_an_fp32_index_never_builds_or_loads_the_int8_encoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app.settings import load_settings
    from bot.core import RagCore

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    config = tmp_path / "ragbot.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    settings = load_settings(config)
    store = EdgeStore(settings.data_dir / "edge" / settings.collection, settings.store)
    store.ensure_collection(384, "all-MiniLM-L6-v2")  # an index from before precision was recorded
    store.close()
    core = RagCore(settings)
    try:
        core.load_models()
        assert core.embedder.precision == "fp32" and core.embedder.batch_size == 8  # the torch path
    finally:
        core.close()
    assert not list(tmp_path.rglob("encoder-*.onnx"))  # no int8 export for an index that can't use it


def test_int8_on_a_gpu_device_runs_onnx_on_the_cpu_so_vectors_never_mix(int8_cache: Path) -> None:
    """A GPU box following an int8 index must embed with the same int8 model, not torch fp16."""
    reference = Embedder(EmbeddingConfig(precision="int8"), cache_dir=int8_cache).embed(["on-call stipend"])
    pinned = Embedder(EmbeddingConfig(precision="int8", device="cuda"), cache_dir=int8_cache)
    following = Embedder(EmbeddingConfig(device="cuda"), cache_dir=int8_cache)  # auto on a GPU box

    assert following.precision == "fp32"  # a new index on a GPU gets fp32 (fp16 there)
    following.use_precision("int8")  # ... but an existing int8 index is followed, on the CPU
    for embedder in (pinned, following):
        np.testing.assert_allclose(embedder.embed(["on-call stipend"]), reference, atol=1e-6)
        assert embedder.batch_size is None  # the ONNX path (this machine has no CUDA at all)


def _fake_model(folder: Path, weights: bytes) -> Path:
    """A model folder that only needs to look like one: its files' sizes and mtimes are the key."""
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"hidden_size": 384}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_a_model_rewritten_at_the_same_path_never_reuses_the_old_int8_file(tmp_path: Path) -> None:
    """A retrained query-1, or a data dir recreated at the same path, must get a new build."""
    from bot.embedder_int8 import cached_int8_model, int8_model_path

    model = _fake_model(tmp_path / "query-1", b"old weights")
    old = int8_model_path(str(model), tmp_path / "cache")
    old.parent.mkdir()
    old.write_bytes(b"the build of the old weights")
    assert cached_int8_model(str(model), tmp_path / "cache") == old

    _fake_model(model, b"new weights, retrained")

    assert int8_model_path(str(model), tmp_path / "cache") != old
    assert cached_int8_model(str(model), tmp_path / "cache") is None


def test_a_corrupt_cached_int8_file_is_dropped_and_the_encoder_still_loads(int8_cache: Path, tmp_path: Path) -> None:
    from bot.embedder_int8 import int8_model_path

    bad = int8_model_path(resolve_embedding_model("all-MiniLM-L6-v2"), tmp_path)
    bad.write_bytes(b"\x08\x01truncated by a crash")  # not an ONNX model: ORT raises its own error type
    expected = Embedder(EmbeddingConfig(precision="int8"), cache_dir=int8_cache).embed(["stipend"])

    vectors = Embedder(EmbeddingConfig(precision="int8"), cache_dir=tmp_path).embed(["stipend"])

    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert not bad.exists() or bad.read_bytes()[:2] != b"\x08\x01"


def test_an_int8_build_that_fails_says_to_set_fp32(tmp_path: Path) -> None:
    """A broken onnx install (the quantiser's) is a one-line ConfigError with the way out, not a traceback."""
    broken = tmp_path / "site" / "onnx"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('onnx was built against another numpy')\n")
    script = (
        "from pathlib import Path\n"
        "from bot.config import EmbeddingConfig\n"
        "from bot.embedder import Embedder\n"
        "from bot.errors import ConfigError\n"
        "try:\n"
        f"    Embedder(EmbeddingConfig(precision='int8'), cache_dir=Path({str(tmp_path / 'models')!r})).embed(['x'])\n"
        "except ConfigError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{broken.parent}{os.pathsep}{REPO}", "XDG_CACHE_HOME": str(tmp_path / "c")}

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr
    message = done.stdout.strip().splitlines()[-1]
    assert "cannot build or load the int8 encoder" in message and 'precision = "fp32"' in message, message
    assert "another numpy" in message and "Traceback" not in done.stderr
    assert not list((tmp_path / "models").glob("encoder-*"))  # no half-built file left to trip the next start


def test_auto_picks_int8_only_on_a_cpu_with_int8_dot_product_instructions() -> None:
    assert cpu_has_int8_dot_product("fpu sse2 avx2 avx512f avx512_vnni avx512_bf16", "x86_64")
    assert cpu_has_int8_dot_product("fpu sse2 avx2 avx_vnni", "x86_64")  # Alder Lake and later
    assert not cpu_has_int8_dot_product("fpu sse2 avx2 fma avx512f avx512bw", "x86_64")  # Skylake-SP: no VNNI
    assert not cpu_has_int8_dot_product("fpu sse2 avx2 vnni_like", "x86_64")  # whole words only
    assert cpu_has_int8_dot_product("fp asimd evtstrm aes asimddp sha512", "aarch64")
    assert not cpu_has_int8_dot_product("fp asimd evtstrm aes", "aarch64")  # Cortex-A72 (a Pi 4)
    assert cpu_has_int8_dot_product(None, "arm64")  # macOS: no /proc; Apple silicon has it
    assert not cpu_has_int8_dot_product(None, "x86_64")  # can't tell: fp32 is the safe side


def test_an_onnxruntime_that_fails_to_import_gives_a_new_index_fp32(tmp_path: Path) -> None:
    broken = tmp_path / "site" / "onnxruntime"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise OSError('libonnxruntime.so: cannot open shared object')\n")
    script = (
        "from bot.config import EmbeddingConfig\n"
        "from bot.embedder import Embedder\n"
        "print(Embedder(EmbeddingConfig()).precision)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{broken.parent}{os.pathsep}{REPO}"}

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "fp32"
    assert "ONNX Runtime does not import" in done.stderr


def test_a_precision_switch_drops_the_query_encoder_loaded_at_the_old_one(int8_cache: Path, tmp_path: Path) -> None:
    """Switching precision must also reload the trained query encoder, or questions keep int8 vectors."""
    embedder = Embedder(EmbeddingConfig(), cache_dir=int8_cache, query_models=tmp_path / "models")
    embedder.embed_query("loaded as int8")
    assert embedder.queries.stamp is not None  # active.json was read (none: the document encoder)

    embedder.use_precision("fp32")

    assert embedder.queries.current is None and embedder.queries.stamp is None  # read again at the next question


def test_training_on_an_int8_index_with_fp32_pinned_is_refused_before_any_work(tmp_path: Path) -> None:
    """`ragbot train` checks the recorded precision too, or its query encoder would mix vectors."""
    from bot.app.settings import load_settings
    from bot.core import RagCore
    from bot.train.run import TrainOptions, run_training

    config = tmp_path / "ragbot.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[embedding]\nprecision = "fp32"\n', encoding="utf-8")
    settings = load_settings(config)
    store = EdgeStore(settings.data_dir / "edge" / settings.collection, settings.store)
    store.ensure_collection(384, "all-MiniLM-L6-v2")
    store.update_meta({PRECISION_KEY: "int8"})
    store.close()
    core = RagCore(settings)
    try:
        with pytest.raises(StoreMismatch, match="built with int8 vectors"):
            run_training(settings, settings.training, core, TrainOptions())
    finally:
        core.close()


def test_a_query_encoder_in_the_data_dir_is_never_copied_to_the_shared_cache(int8_cache: Path, tmp_path: Path) -> None:
    """Another data dir can't have the same query-1: a shared copy would only be a stale one later."""
    from bot.embedder_int8 import shared_cache_dir

    models = tmp_path / "data" / "models"
    encoder = models / "query-1" / "encoder"
    encoder.mkdir(parents=True)
    for file in Path(resolve_embedding_model("all-MiniLM-L6-v2")).iterdir():
        if file.is_file():
            (encoder / file.name).symlink_to(file)
    shared_before = set(shared_cache_dir().glob("encoder-*"))
    embedder = Embedder(EmbeddingConfig(), cache_dir=models, query_models=models)
    embedder.embed(["the document encoder loads first"])

    query = embedder.load_query_encoder(encoder, "query-1")

    assert query.encode(["stipend"]).shape == (1, 384)
    assert len(list(models.glob("encoder-*-int8.onnx"))) == 1  # built in the data dir, for it alone
    assert set(shared_cache_dir().glob("encoder-*")) == shared_before
