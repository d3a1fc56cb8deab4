"""bench: a benchmark and leaderboard harness for cheap training-time reduction of reply-suggestion models."""

__version__ = "0.1.0"


def apply(model, spec: str):
    """Change a Hugging Face or sentence-transformers `model` in place with a strategy (`"layer-drop:count=3"`, the
    `--strategy` syntax), before its trainer is built; see bench.integrations."""
    from bench.integrations import functional

    return functional.apply(model, spec)
