"""Datasets: the ``make data`` step and the CIFAR-10 / Omniglot loaders used by the notebooks.

Command line (what ``make data [DATA_MIRROR=<dir>]`` runs)::

    python -m plasticity_utils.data --dest data [--mirror DIR]

leaves in ``DEST``:

* ``cifar-10-batches-py/``: the official python-pickle batches, extracted;
* ``images_background.zip`` and ``images_evaluation.zip``: Omniglot, kept zipped
  (:func:`load_omniglot` reads the PNGs straight from the zips).

A training task (a Dask task, a worker process) carries a :class:`DataRef` (the loader and its folder)
instead of the arrays, and loads them where it runs, once per process.

With ``--mirror`` the files are copied from a local folder (no network); without it the official
archives are downloaded with :func:`pooch.retrieve` and checked against their md5.

Files already in ``DEST`` are verified (:func:`check_cifar`, :func:`check_omniglot`) and fetched again
when damaged; a damaged source (mirror file or download) is refused with a :class:`DataError` naming it.
"""

from __future__ import annotations

import argparse
import functools
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
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
from PIL import Image

from .cli import one_line_errors

CIFAR_DIR = "cifar-10-batches-py"
CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
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
# md5s of the re-packed Omniglot zips of the local data mirror (/work/shared/data, see its README): same
# names, layout and pixels as the official zips, but zipped again, hence other md5s than in SOURCES.
MIRROR_MD5 = {
    "images_background": "ebb180f777a8b0c8bc4d0d6dcbd93b70",
    "images_evaluation": "6a03d62dc70bd2a99009b45f7c121a22",
}
_MIRROR_FIX = ("replace it with a good copy, or run `make data` without DATA_MIRROR to download the "
               "official files")
_DOWNLOAD_FIX = "the download is damaged: run `make data` again"
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


def check_omniglot(path: Path) -> tuple[dict[str, list[str]], str]:
    """Verify one Omniglot zip: its :func:`omniglot_index` and a note saying how its content was checked.

    A zip with the official md5 or the re-packed mirror's (:data:`MIRROR_MD5`) is known to be intact; any
    other is accepted only if every member's CRC is right (:meth:`zipfile.ZipFile.testzip`). The layout
    is always checked. Raises :class:`DataError` naming ``path`` otherwise.
    """
    index = omniglot_index(path)  # also checks the name, the zip directory and the layout
    name, got = Path(path).stem, md5sum(path)
    if got == SOURCES[name].md5:
        return index, "official md5"
    if got == MIRROR_MD5[name]:
        return index, "md5 of the re-packed mirror"
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as e:
        raise DataError(f"{path} is damaged ({type(e).__name__}: {e})") from None
    if bad is not None:
        raise DataError(f"{path} is damaged: member {bad} fails its CRC check")
    return index, (f"md5 {got} differs from the official {SOURCES[name].md5} and from the re-packed "
                   f"mirror's {MIRROR_MD5[name]}: every member's CRC checked")


# --------------------------------------------------------------------------- CIFAR-10
def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One official pickle batch -> (uint8 images N x 32 x 32 x 3, int64 labels N); DataError naming it."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        flat = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as e:  # a damaged pickle fails in many ways: UnpicklingError, EOFError, KeyError, ...
        raise DataError(f"{path} is damaged: not a readable CIFAR-10 batch ({type(e).__name__}: {e})") from None
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
    try:
        parts = [_read_cifar_batch(p) for p in files]
    except DataError as e:
        raise DataError(f"{e}: {MAKE_HINT}") from None
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def cifar10_counts(root: Path) -> dict[str, int]:
    """Number of CIFAR-10 images found per split, e.g. ``{"train": 2000, "test": 1000}`` (0 if absent)."""
    counts = {}
    for split in ("train", "test"):
        counts[split] = sum(len(_read_cifar_batch(p)[1]) for p in cifar10_files(root, split))  # type: ignore[arg-type]
    return counts


def check_cifar(folder: Path) -> dict[str, int]:
    """Read every batch present in a ``cifar-10-batches-py`` folder: images per batch file.

    A subset of ``data_batch_1..5`` is fine (the mirror holds only ``data_batch_1``); an unreadable
    batch, no ``test_batch`` or no training batch at all is a :class:`DataError` naming the file.
    """
    folder = Path(folder)
    counts = {b: len(_read_cifar_batch(folder / b)[1]) for b in CIFAR_BATCHES if (folder / b).is_file()}
    if "test_batch" not in counts or len(counts) < 2:
        missing = [b for b in CIFAR_BATCHES if b not in counts]
        raise DataError(f"{folder}: {', '.join(missing)} missing (test_batch and at least one of "
                        "data_batch_1..5 are needed)")
    return counts


def _split_counts(batches: dict[str, int]) -> dict[str, int]:
    """:func:`check_cifar`'s images per batch -> images per split, as :func:`cifar10_counts` gives."""
    return {"train": sum(n for b, n in batches.items() if b != "test_batch"), "test": batches["test_batch"]}


def _cifar_summary(batches: dict[str, int]) -> str:
    """E.g. ``2000 train / 1000 test images; data_batch_2, ... missing`` for :func:`check_cifar`'s counts."""
    counts, missing = _split_counts(batches), [b for b in CIFAR_BATCHES if b not in batches]
    return f"{counts['train']} train / {counts['test']} test images" + \
        (f"; {', '.join(missing)} missing (a subset of CIFAR-10)" if missing else "")


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
        source = f"cache {cache.name}"
    if images is None:
        names, chars = [], []
        for z in zips:
            index = omniglot_index(z)
            try:
                with zipfile.ZipFile(z) as zf:
                    for name, entries in index.items():
                        names.append(name)
                        chars.append(np.stack([decode_omniglot_png(zf.read(e), size) for e in entries]))
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
                raise DataError(f"{z} is damaged ({type(e).__name__}: {e}): {MAKE_HINT}") from None
        images = np.stack(chars).astype(np.float32, copy=False)
        _check_ink(images, f"Omniglot in {root}")
        tmp = cache.with_name(cache.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, images=images, names=np.array(names))
        os.replace(tmp, cache)
        source = f"decoded from the zips, cached in {cache.name}"
    print(f"Omniglot: {len(names)} classes x {OMNIGLOT_DRAWERS} drawers = {len(names) * OMNIGLOT_DRAWERS} "
          f"images at {size}x{size} ({source})")
    return images, names


# --------------------------------------------------------------------------- loading where a task runs
@dataclass(frozen=True)
class DataRef:
    """Data named by what loads it: a module-level ``loader`` and its hashable ``args`` (a folder, a
    split). A task carries this (a few hundred bytes, where Omniglot's images are 119 MiB) instead of
    the arrays; :meth:`load` calls ``loader(*args)`` once per process and then returns the same object,
    so every task a worker runs shares one copy. The files must not change while a process uses them."""

    loader: Callable[..., Any]
    args: tuple = ()

    def load(self) -> Any:
        return _load(self.loader, self.args)


@functools.lru_cache(maxsize=8)
def _load(loader: Callable[..., Any], args: tuple) -> Any:
    return loader(*args)


def loaded(data: Any) -> Any:
    """``data.load()`` for a :class:`DataRef`, else ``data`` itself (arrays passed directly)."""
    return data.load() if isinstance(data, DataRef) else data


def folder_key(root: Path | str) -> str:
    """``root`` as an absolute path, the same in every process (a :class:`DataRef` argument)."""
    return str(Path(root).resolve())


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


def _checked_source(check, path: Path, fix: str = _MIRROR_FIX) -> None:
    """``check(path)`` on a source (mirror file or download): a DataError also says what to do."""
    try:
        check(path)
    except DataError as e:
        raise DataError(f"{e}: {fix}") from None


def _stage_cifar10(dest: Path, mirror: Path | None) -> str:
    """(Re)place ``dest/cifar-10-batches-py`` by the mirror's folder or the official archive; say which."""
    src, target = SOURCES["cifar10"], dest / CIFAR_DIR
    with tempfile.TemporaryDirectory(dir=dest, prefix=".cifar-") as tmp:
        staged = Path(tmp) / CIFAR_DIR
        if mirror is not None and (mirror / CIFAR_DIR).is_dir():
            folder = mirror / CIFAR_DIR
            _checked_source(check_cifar, folder)
            staged.mkdir()
            for f in sorted(folder.iterdir()):
                if f.is_file():
                    shutil.copyfile(f, staged / f.name)
            how = f"copied from {folder}"
        else:
            if mirror is not None:
                archive = mirror / src.fname
                if not archive.is_file():
                    raise DataError(f"neither {CIFAR_DIR}/ nor {src.fname} is in the mirror {mirror}")
                if (got := md5sum(archive)) != src.md5:
                    raise DataError(f"{archive}: md5 {got} differs from the official {src.md5}")
            else:
                archive = _download("cifar10", dest)
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
            if not staged.is_dir():
                raise DataError(f"{archive} holds no {CIFAR_DIR}/ folder")
            how = f"extracted from {archive}"
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
    return how


def fetch_cifar10(dest: Path, mirror: Path | None = None) -> dict[str, int]:
    """Make sure ``dest/cifar-10-batches-py`` holds readable batches; return the image counts.

    A folder already there is kept if :func:`check_cifar` accepts it (a subset of the training batches
    included: they are listed as missing); otherwise it is fetched again and checked.
    """
    target = dest / CIFAR_DIR
    try:
        batches, how = check_cifar(target), "already there, verified"
    except DataError as e:  # damaged or incomplete (or not fetched yet)
        problem = f"{e}; re-fetched: " if target.exists() else ""
        try:
            how = problem + _stage_cifar10(dest, mirror)
        except DataError as failed:
            raise _refetch_failed(problem and f"the local {target} is damaged or incomplete ({e})", failed) from None
        batches = check_cifar(target)
    print(f"CIFAR-10: {_cifar_summary(batches)} in {target} ({how})")
    return _split_counts(batches)


def fetch_omniglot(dest: Path, mirror: Path | None = None) -> dict[str, int]:
    """Make sure ``dest`` holds both Omniglot zips, verified by :func:`check_omniglot`; return characters per set.

    A zip already there that fails the check is removed (a damaged file is never kept as data) and fetched
    again (copied from the mirror or downloaded); if that fails too, the error says both.
    """
    counts = {}
    for name in OMNIGLOT_SETS:
        src, target = SOURCES[name], dest / f"{name}.zip"
        checked, how, damage = None, "", ""
        if target.is_file():
            try:
                checked, how = check_omniglot(target), "already there, verified"
            except DataError as e:
                how, damage = f"damaged: {e}; ", f"the local {target} was damaged ({e}) and was removed"
                target.unlink()
        if checked is None:
            try:
                if mirror is not None:
                    source = _mirror_file(mirror, target.name)
                    _checked_source(check_omniglot, source)
                    _copy_file(source, target)
                    how += f"copied {'again ' if how else ''}from {mirror}"
                else:
                    _checked_source(check_omniglot, _download(name, dest), _DOWNLOAD_FIX)
                    how += f"downloaded {'again ' if how else ''}from {src.url}"
            except DataError as failed:
                target.unlink(missing_ok=True)  # a damaged download lands there
                raise _refetch_failed(damage, failed) from None
            checked = check_omniglot(target)
        index, note = checked
        counts[name] = len(index)
        print(f"Omniglot {name}: {len(index)} characters / {len(index) * OMNIGLOT_DRAWERS} images "
              f"in {target} ({how}; {note})")
    return counts


def _refetch_failed(damage: str, failed: DataError) -> DataError:
    """The error of a fetch that failed: after ``damage`` (what was wrong with the local copy) if any."""
    return DataError(f"{damage}; fetching it again failed: {failed}" if damage else str(failed))


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


@one_line_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch CIFAR-10 and Omniglot into DEST (see module docstring).")
    parser.add_argument("--dest", type=Path, default=Path("data"), help="target folder (default: data)")
    parser.add_argument("--mirror", type=Path, default=None, help="local mirror to copy from instead of downloading")
    args = parser.parse_args(argv)
    fetch(args.dest, args.mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main())
