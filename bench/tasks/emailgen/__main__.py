"""`python -m bench.tasks.emailgen [--out DIR] [--seed N]`: regenerate `bench/tasks/data/email/` byte for byte."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.tasks.emailgen.dataset import DEFAULT_OUT, SEED, write


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tasks.emailgen",
                                     description="Regenerate the built-in email task data.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="generator seed (default: %(default)s)")
    args = parser.parse_args(argv)
    manifest = write(args.out, args.seed)
    rows = ", ".join(f"{k} {v['rows']}" for k, v in manifest["files"].items())
    print(f"wrote {args.out}: {rows}; sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()
