"""Say once, at start-up, whether the clustering engine compares tickets by meaning or by words only."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from tickets.clustering.embeddings import encoder_status

HINT = (
    "Set CLUSTERING_EMBEDDING_MODEL to a directory holding model.onnx and tokenizer.json (e.g. all-MiniLM-L6-v2), "
    "or to a model name such as sentence-transformers/all-MiniLM-L6-v2 that this machine fetches once; "
    "then run `manage.py clustering_embed`. See docs/clustering.md."
)


def embedding_model_check(app_configs=None, **kwargs):
    """Info when no model is configured, a Warning when the configured one cannot be loaded; never an error."""
    if not (settings.CLUSTERING_EMBEDDING_MODEL or "").strip():
        return [
            checks.Info(
                "Clustering compares tickets by their words only: CLUSTERING_EMBEDDING_MODEL is not set.",
                hint=HINT,
                id="tickets.I001",
            )
        ]
    found, reason = encoder_status(announce=False)
    if found is None:
        return [checks.Warning(reason, hint=HINT, id="tickets.W001")]
    return []
