"""How well do coverage gaps group questions by topic? Adjusted Rand index and purity on a labelled set.

    .venv/bin/python bench/gaps_quality.py

Two labelled sets of questions the sample handbook does not answer, each line
``{"question", "topic"}``: ``samples/gaps-tune.jsonl`` (54 questions in 10 topics, plus 8 asked
once about something else) chooses every setting; ``samples/gaps-labelled.jsonl`` (80 questions
in 12 other topics, plus 10 one-off questions) is only reported. The one-offs are what a real
log is full of: a cut that is too loose pulls them into a neighbouring gap.
Methods compared, each with its cut chosen on the tuning set by adjusted Rand index:

- agglomerative clustering of MiniLM question vectors, average / complete / single linkage,
  cut at a cosine distance (what ``ragbot gaps`` does, with average linkage);
- HDBSCAN on the same cosine distances (noise points count as gaps of their own);
- the obvious alternative without embeddings: TF-IDF word vectors, same clustering.

The last table runs the shipped code path (``bot.insights.gaps.find_gaps`` on refused question
records) at the ``[insights] cluster_distance`` default, on the held-out set.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, machine  # noqa: E402

TUNE = REPO / "samples" / "gaps-tune.jsonl"
HELD_OUT = REPO / "samples" / "gaps-labelled.jsonl"
THRESHOLDS = [round(0.20 + 0.025 * i, 3) for i in range(31)]  # 0.20 .. 0.95


def load(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows], [r["topic"] for r in rows]


def purity(labels: np.ndarray, topics: list[str]) -> float:
    """Share of questions in a cluster whose majority topic is theirs."""
    clusters: dict[int, Counter[str]] = {}
    for label, topic in zip(labels, topics):
        clusters.setdefault(int(label), Counter())[topic] += 1
    return sum(c.most_common(1)[0][1] for c in clusters.values()) / len(topics)


def scores(labels: np.ndarray, topics: list[str]) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score, v_measure_score

    return {
        "ari": adjusted_rand_score(topics, labels),
        "purity": purity(labels, topics),
        "v": v_measure_score(topics, labels),
        "clusters": float(len(set(labels.tolist()))),
    }


def agglomerative(linkage: str) -> Callable[[np.ndarray, float], np.ndarray]:
    from sklearn.cluster import AgglomerativeClustering

    def run(vectors: np.ndarray, cut: float) -> np.ndarray:
        model = AgglomerativeClustering(n_clusters=None, distance_threshold=cut, metric="cosine", linkage=linkage)
        return model.fit_predict(vectors)

    return run


def hdbscan(vectors: np.ndarray, min_size: float) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0).astype(np.float64)
    labels = HDBSCAN(min_cluster_size=int(min_size), metric="precomputed", copy=True).fit_predict(distances)
    noise = labels < 0  # each noise point is a gap of its own
    labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    return labels


def tfidf(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from bot.insights.titles import content_words

    matrix = TfidfVectorizer(analyzer=content_words).fit_transform(texts).toarray()
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.clip(norms, 1e-12, None)).astype(np.float32) + (norms == 0) * 1e-6


def main() -> None:
    from bot.config import EmbeddingConfig, InsightsConfig
    from bot.embedder import Embedder

    tune_q, tune_t = load(TUNE)
    test_q, test_t = load(HELD_OUT)
    embedder = Embedder(EmbeddingConfig())
    embedder.dimension  # noqa: B018  (load the weights before timing)
    started = time.perf_counter()
    dense = {"tune": embedder.embed(tune_q), "test": embedder.embed(test_q)}
    embed_ms = (time.perf_counter() - started) * 1000 / (len(tune_q) + len(test_q))
    lexical = {"tune": tfidf(tune_q), "test": tfidf(test_q)}
    methods: list[tuple[str, dict[str, np.ndarray], Callable[[np.ndarray, float], np.ndarray], list[float]]] = [
        ("MiniLM, agglomerative average (shipped)", dense, agglomerative("average"), THRESHOLDS),
        ("MiniLM, agglomerative complete", dense, agglomerative("complete"), THRESHOLDS),
        ("MiniLM, agglomerative single", dense, agglomerative("single"), THRESHOLDS),
        ("MiniLM, HDBSCAN (min_cluster_size)", dense, hdbscan, [2.0, 3.0, 4.0, 5.0]),
        ("TF-IDF words, agglomerative average", lexical, agglomerative("average"), THRESHOLDS),
    ]
    print(f"machine: {machine()}; {len(tune_q)} tuning / {len(test_q)} held-out questions")
    print(f"embedding: {embed_ms:.1f} ms per question\n")
    true = len(set(test_t))
    columns = "cut (chosen on tuning) | tuning ARI | held-out ARI | held-out purity | held-out V"
    print(f"| method | {columns} | clusters (true {true}) |")
    print("|---|---|---|---|---|---|---|")
    results: dict[str, dict[str, float]] = {}
    curves: dict[str, list[tuple[float, float]]] = {}
    for name, vectors, cluster, cuts in methods:
        tuned = [(scores(cluster(vectors["tune"], cut), tune_t)["ari"], cut) for cut in cuts]
        best_ari, cut = max(tuned, key=lambda pair: (pair[0], -abs(pair[1] - 0.5)))
        held = scores(cluster(vectors["test"], cut), test_t)
        results[name] = held
        curves[name] = tuned
        print(
            f"| {name} | {cut:g} | {best_ari:.3f} | **{held['ari']:.3f}** | {held['purity']:.3f} | "
            f"{held['v']:.3f} | {held['clusters']:.0f} |"
        )
    shipped = results["MiniLM, agglomerative average (shipped)"]["ari"]
    lexical_ari = results["TF-IDF words, agglomerative average"]["ari"]
    print(f"\nheld-out ARI, MiniLM / TF-IDF: {shipped / lexical_ari:.2f}x")
    curve = curves["MiniLM, agglomerative average (shipped)"]
    print("tuning ARI by cut (average linkage): " + ", ".join(f"{cut:g}: {ari:.2f}" for ari, cut in curve[::2]))
    print(f"\nshipped code path (find_gaps, cluster_distance = {InsightsConfig().cluster_distance}):")
    end_to_end(test_q, test_t, embedder)
    scale(dense["test"], InsightsConfig().cluster_distance)


def scale(base: np.ndarray, cut: float) -> None:
    """Clustering time alone as the log grows (average linkage is O(n²) in time and memory):
    the held-out questions' vectors, jittered into n distinct rows."""
    from bot.insights.gaps import cluster_labels

    rng = np.random.default_rng(16)
    print("\nclustering alone (embedding excluded), n distinct failed questions:")
    for n in (250, 1000, 2000, 4000):
        rows = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        started = time.perf_counter()
        labels = cluster_labels(rows, cut)
        print(f"  n={n}: {time.perf_counter() - started:.2f} s, {len(set(labels.tolist()))} clusters")


def end_to_end(questions: list[str], topics: list[str], embedder) -> None:  # type: ignore[no-untyped-def]
    from bot.chatstate.questions import QuestionRecord
    from bot.config import InsightsConfig
    from bot.insights.gaps import find_gaps

    records = [
        QuestionRecord(f"q{i}", 1e9 + i, "slack", "C1", f"h:{i}", q, q, "refused") for i, q in enumerate(questions)
    ]
    started = time.perf_counter()
    report = find_gaps(records, embedder.embed, distance=InsightsConfig().cluster_distance)
    seconds = time.perf_counter() - started
    label_of = {r.id: n for n, gap in enumerate(report.gaps) for r in gap.questions}
    found = scores(np.array([label_of[r.id] for r in records]), topics)
    print(
        f"ARI {found['ari']:.3f}, purity {found['purity']:.3f}, {found['clusters']:.0f} gaps, "
        f"{seconds * 1000:.0f} ms for {len(records)} questions (embedding included)"
    )
    for gap in report.gaps[:14]:
        topic = Counter(topics[int(r.id[1:])] for r in gap.questions).most_common(1)[0][0]
        print(f"  {gap.count:2d}x [{topic}] {gap.suggested_title!r}: {gap.representative!r}")


if __name__ == "__main__":
    main()
