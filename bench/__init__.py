"""bench: a benchmark and leaderboard harness for cheap training-time reduction of reply-suggestion models."""

__version__ = "0.1.0"
