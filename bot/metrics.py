"""Prometheus metrics, served at GET /metrics by `ragbot serve` and `ragbot scheduler`.

Defined once here; the core, the chat service and the indexer runner update them.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = [
    "QUESTIONS",
    "REFUSALS",
    "STAGE_SECONDS",
    "RETRIEVAL_HITS",
    "INVALID_CITATIONS",
    "DEGENERATE_ANSWERS",
    "TOP_SCORE",
    "FEEDBACK_VOTES",
    "INDEX_RUNS",
    "INDEX_DOCUMENTS",
    "ERRORS",
    "MODEL_LOADS",
    "STORE_UP",
    "render",
]

QUESTIONS = Counter("ragbot_questions_total", "Chat questions by outcome", ["outcome"])
REFUSALS = Counter("ragbot_refusals_total", "Questions answered with 'not in the docs'")
STAGE_SECONDS = Histogram(
    "ragbot_stage_duration_seconds",
    "Time per answering stage (retrieve includes embedding the question)",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RETRIEVAL_HITS = Counter("ragbot_retrieval_hits_total", "Retrieved sources above the relevance threshold")
TOP_SCORE = Histogram(
    "ragbot_retrieval_top_score", "Cosine score of the best source", buckets=(0.1, 0.2, 0.3, 0.36, 0.4, 0.5, 0.6, 0.8)
)
INVALID_CITATIONS = Counter(
    "ragbot_invalid_citations_total", "[n] markers a generator wrote that point at no retrieved source (removed)"
)
DEGENERATE_ANSWERS = Counter(
    "ragbot_degenerate_answers_total",
    "Model answers replaced by quotes before posting (repetition, boilerplate, unsupported, bad_citation)",
    ["reason"],
)
FEEDBACK_VOTES = Counter("ragbot_feedback_votes_total", "Feedback clicks on answers", ["vote"])
INDEX_RUNS = Counter("ragbot_index_runs_total", "Indexing runs by source and outcome", ["source", "status"])
INDEX_DOCUMENTS = Counter("ragbot_index_documents_total", "Documents handled by indexing runs", ["source", "change"])
ERRORS = Counter("ragbot_errors_total", "Failures by kind", ["kind"])
# Once per model and process: more means two threads raced to load the same weights.
MODEL_LOADS = Counter("ragbot_model_loads_total", "Model weights loaded into memory", ["model"])
STORE_UP = Gauge("ragbot_store_up", "1 while the vector store answers probes, 0 while it is unreachable")


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
