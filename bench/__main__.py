"""Entry point: `python -m bench`, and the `bench` script. User errors are caught once, in `bench.cli.run_command`
(which a launched job's worker calls too), and printed as one line with exit code 2."""

import sys


def run() -> int:
    from bench.cli import run_command

    return run_command(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(run())
