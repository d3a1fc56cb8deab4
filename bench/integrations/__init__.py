"""bench's strategies in the trainers teams use: `apply(model, spec)`, the functional form that changes a Hugging
Face or sentence-transformers model in place, and `StrategyCallback(spec)` for `transformers.Trainer` and
`SentenceTransformerTrainer` (docs/integrations.md)."""

from bench.integrations.callback import StrategyCallback
from bench.integrations.functional import apply

__all__ = ["StrategyCallback", "apply"]
