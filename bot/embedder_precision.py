"""Which precision the encoder runs at, and keeping it the one the index was built with.

``precision = "auto"`` (the default) means int8 on a CPU with int8 dot-product instructions (VNNI
on x86, ``asimddp`` on ARM) when ONNX Runtime is installed: 4x and more the speed of fp32 at the
same hit@5 (docs/benchmarks.md, measured with AVX-512 VNNI). Without VNNI, ORT's int8 kernels can
saturate (its docs advise ``reduce_range`` there), so such a CPU gets fp32. int8 and fp32 vectors of one text
agree to a cosine of about 0.98, not 1.0, so one index must not hold both, nor be searched with
the other's query vectors without saying so. Hence the rule, applied before the first vector:

- a new collection records the precision that built it (``embedding_precision`` in its metadata);
- ``auto`` follows an existing collection: an index built with fp32 (or by a version that did not
  record it: fp32 was the only default then) keeps being searched and updated with fp32, so an
  upgrade neither re-embeds nor wipes anything; a new index gets int8;
- an explicit precision that differs from the recorded one is refused (StoreMismatch) with the
  way out: set it back, or build a new index.
"""

from __future__ import annotations

import importlib.util
import logging
import platform
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from bot.config import EmbeddingConfig
from bot.errors import StoreMismatch

if TYPE_CHECKING:
    from bot.embedder import Embedder
    from bot.store.base import Store

__all__ = [
    "PRECISION_KEY",
    "Precision",
    "resolve_precision",
    "fit_index",
    "settle_before_load",
    "cpu_has_int8_dot_product",
]

log = logging.getLogger(__name__)

PRECISION_KEY = "embedding_precision"
Precision = Literal["fp32", "int8"]
# What an index that records no precision was built with: fp32, the default before "auto".
UNRECORDED: Precision = "fp32"
_warned: set[str] = set()


def resolve_precision(config: EmbeddingConfig, device: str) -> Precision:
    """``auto``: int8 on a CPU with VNNI when ONNX Runtime imports and onnx (to build the int8
    file once) is installed, else fp32 (which a GPU runs in fp16).

    ONNX Runtime is imported, not just looked up: a broken wheel must give fp32 here, before a new
    index records int8. It costs nothing later (the int8 path imports it anyway), and an existing
    index never gets here: :meth:`Embedder.use_precision` takes its precision unresolved."""
    if config.precision != "auto":
        return config.precision
    if device != "cpu" or not cpu_has_int8_dot_product(_cpu_flags(), platform.machine()):
        return "fp32"
    if importlib.util.find_spec("onnx") is None:
        return "fp32"
    try:
        import onnxruntime  # noqa: F401
    except Exception as exc:  # ImportError, or a broken wheel's OSError/AttributeError
        log.warning("ONNX Runtime does not import (%s); embedding with fp32", exc)
        return "fp32"
    return "int8"


def cpu_has_int8_dot_product(flags: str | None, machine: str) -> bool:
    """Whether the CPU has the int8 dot-product instructions ORT's int8 kernels are fast and exact
    with: ``avx512_vnni``/``avx_vnni`` on x86, ``asimddp`` on ARM (``flags``: the /proc/cpuinfo
    flags or Features line; None where there is no /proc, e.g. macOS, where arm64 means Apple
    silicon, which has it)."""
    machine = machine.lower()
    if flags is None:
        return machine in ("arm64", "aarch64")
    words = set(flags.split())
    if machine in ("arm64", "aarch64"):
        return "asimddp" in words
    return bool(words & {"avx512_vnni", "avx_vnni"})


def _cpu_flags() -> str | None:
    """The first ``flags`` (x86) or ``Features`` (ARM) line of /proc/cpuinfo; None without one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return value
    except OSError:
        return None
    return None


def fit_index(embedder: Embedder, store: Store, dimension: int) -> None:
    """``store.ensure_collection`` plus the precision rule above; call it before the first vector.

    :raises StoreMismatch: another model built the index, or an explicit precision differs from the
        recorded one."""
    existed = store.collection_exists()
    if existed:
        _follow(embedder, store.meta(), getattr(store, "where", "the index"))
    store.ensure_collection(dimension, embedder.model_name)
    if not existed:
        store.update_meta({PRECISION_KEY: embedder.precision})


def settle_before_load(embedder: Embedder, open_store: Callable[[], Store]) -> None:
    """With ``auto``, take an existing index's precision before the encoder loads, so a process on
    an fp32 index never builds or loads the int8 file only to drop it at the first question.
    A store that can't be opened or read now (held by another process, down) is left to
    :func:`fit_index`: loading the encoder never depends on it."""
    if embedder.config.precision != "auto":
        return
    try:
        store = open_store()
        meta = store.meta() if store.collection_exists() else {}
    except Exception:  # down or unreadable: fit_index says so when it matters
        return
    if meta:
        _follow(embedder, meta, getattr(store, "where", "the index"))


def _follow(embedder: Embedder, meta: dict[str, object], where: str) -> None:
    recorded = meta.get(PRECISION_KEY)
    configured = embedder.config.precision
    if configured == "auto":
        built = recorded if recorded in ("fp32", "int8") else UNRECORDED
        embedder.use_precision(built)
        return
    if recorded is None:
        if configured != UNRECORDED and where not in _warned:
            _warned.add(where)
            log.warning(
                "%s does not record the precision it was built with; assuming %s as configured. If it was "
                "built with fp32, rebuild it into a new data dir or collection so its vectors are not mixed",
                where,
                configured,
            )
        return
    if recorded != configured:
        raise StoreMismatch(
            f"{where} was built with {recorded} vectors, but [embedding] precision is {configured!r}; "
            "int8 and fp32 vectors differ slightly, so one index never mixes them. To fix: set precision "
            f'(RAGBOT_EMBEDDING_PRECISION) to "auto" or {recorded!r}, or build a new index with {configured}: '
            "set RAGBOT_DATA_DIR to a new folder (embedded) or RAGBOT_COLLECTION to a new name, then run "
            "`ragbot index`"
        )
