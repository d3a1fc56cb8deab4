"""Entry point: user errors are caught here, once, and printed as one line with exit code 2."""

import sys

from bench.errors import BenchError


def run() -> int:
    from bench.cli import main

    try:
        return main(sys.argv[1:])
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; the run in flight was marked failed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(run())
