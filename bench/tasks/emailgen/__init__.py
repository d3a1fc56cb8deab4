"""Deterministic generator of the built-in `email` task: realistic email message -> short reply pairs.

Run `python -m bench.tasks.emailgen [--out DIR]` to regenerate `bench/tasks/data/email/` byte for byte. The
package is split by job (vocabulary, replies, scenarios, email dressing, dataset writing); this module
re-exports the public API.
"""

from bench.tasks.emailgen.dataset import DEFAULT_OUT, SEED, SPLIT_SIZES, VERSION, generate, manifest_digest, write
from bench.tasks.emailgen.replies import REPLIES

__all__ = ["DEFAULT_OUT", "REPLIES", "SEED", "SPLIT_SIZES", "VERSION", "generate", "manifest_digest", "write"]
