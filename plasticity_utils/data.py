"""Datasets: the ``make data`` step and the CIFAR-10 / Omniglot loaders used by the notebooks.

Command line (what ``make data [DATA_MIRROR=<dir>]`` runs)::

    python -m plasticity_utils.data --dest data [--mirror DIR]

leaves in ``DEST``:

* ``cifar-10-batches-py/``: the official python-pickle batches, extracted;
* ``images_background.zip`` and ``images_evaluation.zip``: Omniglot, kept zipped
  (:func:`load_omniglot` reads the PNGs straight from the zips).

With ``--mirror`` the files are copied from a local folder (no network); without it the official
archives are downloaded with :func:`pooch.retrieve` and checked against their md5.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import re
import shutil
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
from PIL import Image

CIFAR_DIR = "cifar-10-batches-py"
OMNIGLOT_SETS = ("images_background", "images_evaluation")
OMNIGLOT_DRAWERS = 20
# Official characters cover a few percent to ~20% of the image; a mean far outside this range means
# the decoding went wrong (e.g. 1-bit PNGs collapsing to ~0, or ink and background swapped).
INK_RANGE = (0.01, 0.3)
MAKE_HINT = "run `make data` (or `make data DATA_MIRROR=<dir>` on a machine without internet)"


@dataclass(frozen=True)
class Source:
    """One official archive: where it is downloaded from and its md5."""

    url: str
    md5: str

    @property
    def fname(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_OMNIGLOT_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python/"
SOURCES: dict[str, Source] = {
    "cifar10": Source("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                      "c58f30108f718f92721af3b95e74349a"),
    "images_background": Source(_OMNIGLOT_URL + "images_background.zip", "68d2efa1b9178cc56df9314c21c6e718"),
    "images_evaluation": Source(_OMNIGLOT_URL + "images_evaluation.zip", "6b91aef0f799c5bb55b94e3f2daec811"),
}
_PNG_RE = re.compile(r"^(images_background|images_evaluation)/([^/]+)/(character\d+)/(\d+_\d+\.png)$")


class DataError(ValueError):
    """A dataset is missing, corrupt or laid out unexpectedly (reported without a traceback)."""


# --------------------------------------------------------------------------- generic helpers
def md5sum(path: Path, chunk: int = 1 << 20) -> str:
    """Hex md5 of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def omniglot_index(path: Path) -> dict[str, list[str]]:
    """Validate an Omniglot zip and index it: ``"<set>/<alphabet>/<character>"`` -> sorted PNG entries.

    Expects every PNG at ``<set>/<alphabet>/<characterNN>/<id>_<drawer>.png`` with ``<set>`` the zip's
    stem, and exactly 20 drawers per character. Folder entries and hidden files are ignored.
    """
    top = Path(path).stem
    if top not in OMNIGLOT_SETS:
        raise DataError(f"{path}: expected a zip named one of {[s + '.zip' for s in OMNIGLOT_SETS]}")
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile as e:
        raise DataError(f"{path} is not a valid zip file ({e})") from None
    index: dict[str, list[str]] = {}
    bad = []
    for name in names:
        base = name.rstrip("/").rsplit("/", 1)[-1]
        if name.endswith("/") or base.startswith(".") or name.startswith("__MACOSX/"):
            continue
        m = _PNG_RE.match(name)
        if m is None or m.group(1) != top:
            bad.append(name)
            continue
        index.setdefault(f"{top}/{m.group(2)}/{m.group(3)}", []).append(name)
    if bad:
        raise DataError(f"{path}: {len(bad)} entries are not {top}/<alphabet>/<characterNN>/<id>_<drawer>.png, "
                        f"e.g. {bad[:3]}")
    if not index:
        raise DataError(f"{path} holds no Omniglot PNGs")
    wrong = {k: len(v) for k, v in index.items() if len(v) != OMNIGLOT_DRAWERS}
    if wrong:
        listed = ", ".join(f"{k} has {n}" for k, n in sorted(wrong.items())[:5])
        raise DataError(f"{path}: {len(wrong)} character folders do not hold exactly {OMNIGLOT_DRAWERS} "
                        f"drawers: {listed}")
    return {k: sorted(index[k]) for k in sorted(index)}


# --------------------------------------------------------------------------- CIFAR-10
def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One official pickle batch -> (uint8 images N x 32 x 32 x 3, int64 labels N)."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    flat = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if flat.ndim != 2 or flat.shape[1] != 3072 or len(labels) != len(flat):
        raise DataError(f"{path}: expected data N x 3072 and N labels, got {flat.shape} and {labels.shape}")
    # each row is the red plane, then green, then blue, each 32 x 32 row-major
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def cifar10_files(root: Path, split: Literal["train", "test"]) -> list[Path]:
    """The batch files of ``split`` present under ``root/cifar-10-batches-py`` (maybe a subset)."""
    folder = Path(root) / CIFAR_DIR
    if split == "train":
        candidates = [folder / f"data_batch_{i}" for i in range(1, 6)]
    elif split == "test":
        candidates = [folder / "test_batch"]
    else:
        raise ValueError(f"split={split!r} is not 'train' or 'test'")
    return [p for p in candidates if p.is_file()]


def load_cifar10(root: Path, split: Literal["train", "test"]) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 ``split`` from ``root/cifar-10-batches-py``: uint8 images (N, 32, 32, 3), int64 labels (N,).

    Train concatenates whichever of ``data_batch_1..5`` exist (the full archive, or a mirror's subset).
    """
    files = cifar10_files(root, split)
    if not files:
        raise FileNotFoundError(f"No CIFAR-10 {split} batches in {Path(root) / CIFAR_DIR}: {MAKE_HINT}")
    parts = [_read_cifar_batch(p) for p in files]
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def cifar10_counts(root: Path) -> dict[str, int]:
    """Number of CIFAR-10 images found per split, e.g. ``{"train": 2000, "test": 1000}`` (0 if absent)."""
    counts = {}
    for split in ("train", "test"):
        counts[split] = sum(len(_read_cifar_batch(p)[1]) for p in cifar10_files(root, split))  # type: ignore[arg-type]
    return counts


# --------------------------------------------------------------------------- Omniglot
def decode_omniglot_png(data: bytes, size: int = 31) -> np.ndarray:
    """One Omniglot PNG -> float32 (size, size) with ink = 1 and background = 0.

    The files are 1-bit with black ink; they are mapped to float *before* an antialiased (Lanczos)
    resize, so thin strokes keep their mass instead of vanishing, then clipped to [0, 1].
    """
    with Image.open(io.BytesIO(data)) as im:
        ink = 1.0 - np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    if ink.shape != (size, size):
        img = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32))  # mode 'F'
        ink = np.asarray(img.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(ink, 0.0, 1.0)


def _check_ink(images: np.ndarray, where: str) -> None:
    mean = float(images.mean())
    lo, hi = INK_RANGE
    if not lo <= mean <= hi:
        raise DataError(f"{where}: mean ink {mean:.4f} is outside the plausible range [{lo}, {hi}] "
                        "(images decoded wrongly: collapsed to ~0 or ink/background swapped?)")


def load_omniglot(root: Path, size: int = 31) -> tuple[np.ndarray, list[str]]:
    """All Omniglot characters as float32 (n_classes, 20, size, size), ink = 1, and their names.

    Order: background set then evaluation set, alphabets and characters sorted, each character's 20
    drawers sorted by file name; names are ``"<set>/<alphabet>/<character>"``. The decoded array is
    cached as ``root/omniglot_<size>.npz`` and reused while it is newer than both zips.
    """
    root = Path(root)
    zips = [root / f"{s}.zip" for s in OMNIGLOT_SETS]
    missing = [z.name for z in zips if not z.is_file()]
    if missing:
        raise FileNotFoundError(f"Omniglot {', '.join(missing)} not found in {root}: {MAKE_HINT}")
    cache = root / f"omniglot_{size}.npz"
    images: np.ndarray | None = None
    if cache.is_file() and cache.stat().st_mtime > max(z.stat().st_mtime for z in zips):
        with np.load(cache) as f:
            images, names = f["images"], [str(n) for n in f["names"]]
        if images.shape[1:] != (OMNIGLOT_DRAWERS, size, size) or len(names) != len(images):
            images = None  # stale or foreign cache: rebuild
        else:
            _check_ink(images, str(cache))
        source = f"cache {cache}"
    if images is None:
        names, chars = [], []
        for z in zips:
            index = omniglot_index(z)
            with zipfile.ZipFile(z) as zf:
                for name, entries in index.items():
                    names.append(name)
                    chars.append(np.stack([decode_omniglot_png(zf.read(e), size) for e in entries]))
        images = np.stack(chars).astype(np.float32, copy=False)
        _check_ink(images, f"Omniglot in {root}")
        tmp = cache.with_name(cache.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, images=images, names=np.array(names))
        os.replace(tmp, cache)
        source = f"decoded from the zips, cached in {cache}"
    print(f"Omniglot: {len(names)} classes x {OMNIGLOT_DRAWERS} drawers = {len(names) * OMNIGLOT_DRAWERS} "
          f"images at {size}x{size} ({source})")
    return images, names


# --------------------------------------------------------------------------- fetching (make data)
def _copy_file(src: Path, dst: Path) -> None:
    """Copy contents only (mirror files may be read-only), atomically."""
    tmp = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _download(key: str, dest: Path) -> Path:
    import pooch  # only needed when downloading

    src = SOURCES[key]
    try:
        return Path(pooch.retrieve(src.url, known_hash=f"md5:{src.md5}", fname=src.fname, path=dest))
    except Exception as e:  # network, HTTP or hash errors all end the same way
        raise DataError(f"could not download {src.url} ({type(e).__name__}: {e}); "
                        "on offline machines use `make data DATA_MIRROR=<dir>`") from None


def _mirror_file(mirror: Path, name: str) -> Path:
    path = mirror / name
    if not path.exists():
        raise DataError(f"{name} is missing from the mirror {mirror}")
    return path


def fetch_cifar10(dest: Path, mirror: Path | None = None) -> dict[str, int]:
    """Make sure ``dest/cifar-10-batches-py`` holds the batches; return the image counts."""
    target = dest / CIFAR_DIR
    if cifar10_files(dest, "train") and cifar10_files(dest, "test"):
        counts = cifar10_counts(dest)
        print(f"CIFAR-10: {counts['train']} train / {counts['test']} test images in {target} (already there)")
        return counts
    src = SOURCES["cifar10"]
    if mirror is not None and (mirror / CIFAR_DIR).is_dir():
        folder = mirror / CIFAR_DIR
        for needed in ("data_batch_1", "test_batch"):
            _mirror_file(folder, needed)
        tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".cifar-"))
        tmp.chmod(0o755)
        for f in sorted(folder.iterdir()):
            if f.is_file():
                _copy_file(f, tmp / f.name)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
        how = f"copied from {folder}"
    else:
        if mirror is not None:
            if not (mirror / src.fname).is_file():
                raise DataError(f"neither {CIFAR_DIR}/ nor {src.fname} is in the mirror {mirror}")
            archive = mirror / src.fname
            if (got := md5sum(archive)) != src.md5:
                raise DataError(f"{archive}: md5 {got} differs from the official {src.md5}")
        else:
            archive = _download("cifar10", dest)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
        how = f"extracted from {archive}"
    counts = cifar10_counts(dest)
    if not counts["train"] or not counts["test"]:
        raise DataError(f"{target}: no train or test batches after fetching ({counts})")
    print(f"CIFAR-10: {counts['train']} train / {counts['test']} test images in {target} ({how})")
    return counts


def fetch_omniglot(dest: Path, mirror: Path | None = None) -> dict[str, int]:
    """Make sure ``dest`` holds both Omniglot zips (checked); return characters per set."""
    counts = {}
    for name in OMNIGLOT_SETS:
        src, target = SOURCES[name], dest / f"{name}.zip"
        if target.is_file():
            how = "already there"
        elif mirror is not None:
            _copy_file(_mirror_file(mirror, target.name), target)
            how = f"copied from {mirror}"
        else:
            _download(name, dest)
            how = f"downloaded from {src.url}"
        got = md5sum(target)
        note = "official md5" if got == src.md5 else \
            f"md5 {got} differs from the official {src.md5} (re-packed mirror): layout checked instead"
        index = omniglot_index(target)
        counts[name] = len(index)
        print(f"Omniglot {name}: {len(index)} characters / {len(index) * OMNIGLOT_DRAWERS} images "
              f"in {target} ({how}; {note})")
    return counts


def fetch(dest: Path, mirror: Path | None = None) -> None:
    """The data step: CIFAR-10 batches and the Omniglot zips in ``dest``."""
    dest = Path(dest)
    if mirror is not None:
        mirror = Path(mirror)
        if not mirror.is_dir():
            raise DataError(f"mirror {mirror} is not a directory")
    dest.mkdir(parents=True, exist_ok=True)
    fetch_cifar10(dest, mirror)
    fetch_omniglot(dest, mirror)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch CIFAR-10 and Omniglot into DEST (see module docstring).")
    parser.add_argument("--dest", type=Path, default=Path("data"), help="target folder (default: data)")
    parser.add_argument("--mirror", type=Path, default=None, help="local mirror to copy from instead of downloading")
    args = parser.parse_args(argv)
    try:
        fetch(args.dest, args.mirror)
    except (DataError, OSError, tarfile.TarError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
