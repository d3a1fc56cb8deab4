"""The one exception type for user errors (bad config, data, flags or database)."""


class BenchError(Exception):
    """A user-facing error: printed as one line on stderr, exit code 2, no traceback."""


def first_line(exc: BaseException) -> str:
    """An exception's first line for a one-line error (a database driver's own message where SQLAlchemy wraps
    one, in `orig`); its type where it has no text."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
