"""The one exception type for user errors (bad config, data, flags or database)."""


class BenchError(Exception):
    """A user-facing error: printed as one line on stderr, exit code 2, no traceback."""
