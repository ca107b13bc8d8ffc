"""Tests of plasticity_utils.data: loaders and the data step, on synthetic files and (if present) the mirror."""

from __future__ import annotations

import io
import os
import pickle
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plasticity_utils import data

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("DATA_MIRROR", ROOT.parent / "shared" / "data"))
SIZE = 105


# --------------------------------------------------------------------------- synthetic builders
def ink_side(cls: int, drawer: int) -> int:
    """Side of the ink square of one synthetic image: distinct per class and per drawer."""
    return 20 + 4 * cls + drawer  # 20..51 px of 105 -> ink fraction 3.6%..23.6%


def png_1bit(side: int, invert: bool = False) -> bytes:
    """A 105x105 1-bit PNG like Omniglot's: white background (True), a black ink square (False)."""
    img = np.ones((SIZE, SIZE), dtype=bool)
    img[10:10 + side, 30:30 + side] = False
    buf = io.BytesIO()
    Image.fromarray(~img if invert else img).save(buf, format="PNG")
    return buf.getvalue()


def write_omniglot_zip(path: Path, alphabets: dict[str, int], first_cls: int = 0,
                       drawers: int = 20, invert: bool = False) -> list[str]:
    """An Omniglot-layout zip, entries written in scrambled order; returns the sorted class names."""
    top = path.stem
    entries, names = [], []
    cls = first_cls
    for alphabet in sorted(alphabets):
        for c in range(1, alphabets[alphabet] + 1):
            names.append(f"{top}/{alphabet}/character{c:02d}")
            for d in range(1, drawers + 1):
                entries.append((f"{top}/{alphabet}/character{c:02d}/{cls + 1:04d}_{d:02d}.png",
                                png_1bit(ink_side(cls, d - 1), invert)))
            cls += 1
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as z:
        for i in rng.permutation(len(entries)):
            z.writestr(*entries[i])
    return names


def make_omniglot(root: Path, **kw) -> list[str]:
    """Background: 2 alphabets x 2 characters; evaluation: 1 alphabet x 1 character."""
    root.mkdir(parents=True, exist_ok=True)
    names = write_omniglot_zip(root / "images_background.zip", {"Zeta": 2, "Alpha": 2}, **kw)
    return names + write_omniglot_zip(root / "images_evaluation.zip", {"Beta": 1}, first_cls=4, **kw)


def write_cifar_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    """Official format: dict with b'data' (uint8 N x 3072: R plane, G plane, B plane) and b'labels'."""
    flat = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({b"data": flat, b"labels": labels, b"batch_label": b"x"}, f)


def make_cifar(root: Path) -> np.ndarray:
    """data_batch_1 (3 images) and test_batch (2 images); the first train image is pure red."""
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    train[0] = 0
    train[0, ..., 0] = 255
    write_cifar_batch(root / data.CIFAR_DIR / "data_batch_1", train, [3, 1, 4])
    write_cifar_batch(root / data.CIFAR_DIR / "test_batch", train[1:], [9, 0])
    return train


def truncate(path: Path) -> None:
    """Cut a file to half its size, as an interrupted copy or download would."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt_member(path: Path) -> None:
    """Flip one byte inside the first member's data of a zip: same size, directory intact, CRC wrong."""
    with zipfile.ZipFile(path) as z:
        info = z.infolist()[0]
    raw = bytearray(path.read_bytes())
    off = info.header_offset  # local header: 30 bytes, then the name and extra field (lengths at 26, 28)
    name_len, extra_len = (int.from_bytes(raw[off + i:off + i + 2], "little") for i in (26, 28))
    start = off + 30 + name_len + extra_len
    raw[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


# --------------------------------------------------------------------------- CIFAR-10
def test_cifar_channel_layout_and_subset(tmp_path):
    train = make_cifar(tmp_path)
    x, y = data.load_cifar10(tmp_path, "train")
    assert x.dtype == np.uint8 and x.shape == (3, 32, 32, 3)
    assert y.dtype == np.int64 and y.tolist() == [3, 1, 4]
    assert (x[0, ..., 0] == 255).all() and (x[0, ..., 1:] == 0).all()  # pure red everywhere
    np.testing.assert_array_equal(x, train)
    # a hand-built row: pixel (row 2, col 5) is at index 2*32+5 of each colour plane
    flat = np.zeros((1, 3072), np.uint8)
    flat[0, [2 * 32 + 5, 1024 + 2 * 32 + 5, 2048 + 2 * 32 + 5]] = [10, 20, 30]
    with open(tmp_path / data.CIFAR_DIR / "data_batch_3", "wb") as f:
        pickle.dump({b"data": flat, b"labels": [7]}, f)
    x, y = data.load_cifar10(tmp_path, "train")  # batches 1 and 3 present, 2/4/5 absent
    assert x.shape == (4, 32, 32, 3) and y.tolist() == [3, 1, 4, 7]
    assert x[3, 2, 5].tolist() == [10, 20, 30] and x[3].sum() == 60
    assert data.cifar10_counts(tmp_path) == {"train": 4, "test": 2}
    xt, yt = data.load_cifar10(tmp_path, "test")
    assert xt.shape == (2, 32, 32, 3) and yt.tolist() == [9, 0]


def test_cifar_missing_says_make_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        data.load_cifar10(tmp_path, "train")
    assert data.cifar10_counts(tmp_path) == {"train": 0, "test": 0}
    with pytest.raises(ValueError, match="split"):
        data.load_cifar10(tmp_path, "valid")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Omniglot
def test_decode_ink_is_one_and_mass_is_kept():
    side = 40
    full = data.decode_omniglot_png(png_1bit(side), size=105)
    assert full.dtype == np.float32 and set(np.unique(full)) == {0.0, 1.0}
    assert full[10, 30] == 1.0 and full[0, 0] == 0.0 and full.sum() == side * side
    small = data.decode_omniglot_png(png_1bit(side), size=31)
    assert small.shape == (31, 31) and small.min() >= 0 and small.max() <= 1
    assert small.mean() == pytest.approx(side**2 / 105**2, abs=0.01)
    assert small[(10 + 20) * 31 // 105, (30 + 20) * 31 // 105] > 0.95  # centre of the square
    assert small[30, 0] == pytest.approx(0, abs=0.01)


def test_load_omniglot_order_shapes_and_cache(tmp_path, monkeypatch, capsys):
    names = make_omniglot(tmp_path)
    x, got = data.load_omniglot(tmp_path, size=31)
    assert got == names == ["images_background/Alpha/character01", "images_background/Alpha/character02",
                            "images_background/Zeta/character01", "images_background/Zeta/character02",
                            "images_evaluation/Beta/character01"]
    assert x.shape == (5, 20, 31, 31) and x.dtype == np.float32
    # class index order in the files: Alpha first (classes 0-1), then Zeta (2-3), then Beta (4)
    want = np.array([[ink_side(c, d) ** 2 / SIZE**2 for d in range(20)] for c in range(5)])
    np.testing.assert_allclose(x.mean(axis=(2, 3)), want, atol=0.01)
    out = capsys.readouterr().out
    assert "5 classes" in out and "omniglot_31.npz" in out and str(tmp_path) not in out  # no machine paths
    cache = tmp_path / "omniglot_31.npz"
    assert cache.is_file()

    def boom(*a, **k):
        raise AssertionError("decoded again although the cache is fresh")

    monkeypatch.setattr(data, "decode_omniglot_png", boom)
    x2, got2 = data.load_omniglot(tmp_path, size=31)
    np.testing.assert_array_equal(x2, x)
    out = capsys.readouterr().out
    assert got2 == names and "cache omniglot_31.npz" in out and str(tmp_path) not in out
    # a zip newer than the cache invalidates it
    t = cache.stat().st_mtime + 10
    os.utime(tmp_path / "images_evaluation.zip", (t, t))
    with pytest.raises(AssertionError, match="decoded again"):
        data.load_omniglot(tmp_path, size=31)


def test_omniglot_wrong_drawer_count_is_reported(tmp_path):
    make_omniglot(tmp_path)
    write_omniglot_zip(tmp_path / "images_evaluation.zip", {"Beta": 1}, drawers=19)
    with pytest.raises(data.DataError, match=r"images_evaluation/Beta/character01 has 19"):
        data.load_omniglot(tmp_path)


def test_omniglot_bad_layout_inverted_and_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        data.load_omniglot(tmp_path)
    make_omniglot(tmp_path, invert=True)  # white ink on black: mean ink ~0.9
    with pytest.raises(data.DataError, match="mean ink"):
        data.load_omniglot(tmp_path)
    with zipfile.ZipFile(tmp_path / "images_background.zip", "a") as z:
        z.writestr("images_background/Alpha/notes.txt", "x")
    with pytest.raises(data.DataError, match="notes.txt"):
        data.omniglot_index(tmp_path / "images_background.zip")


# --------------------------------------------------------------------------- data step
def make_mirror(mirror: Path) -> None:
    make_cifar(mirror)
    make_omniglot(mirror)


def test_fetch_from_mirror_copies_and_is_idempotent(tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    make_mirror(mirror)
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10: 3 train / 2 test images" in out and "copied" in out
    assert "differs from the official" in out and "re-packed mirror" in out  # synthetic zips
    for name in ("images_background.zip", "images_evaluation.zip", f"{data.CIFAR_DIR}/test_batch"):
        assert (dest / name).read_bytes() == (mirror / name).read_bytes()
    mtimes = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 0
    out = capsys.readouterr().out
    assert out.count("already there") == 3 and "copied" not in out
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == mtimes


def test_fetch_mirror_tarball_checks_md5(tmp_path, monkeypatch, capsys):
    mirror, dest, staging = tmp_path / "mirror", tmp_path / "data", tmp_path / "staging"
    make_omniglot(mirror)
    make_cifar(staging)
    tar_path = mirror / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(staging / data.CIFAR_DIR, arcname=data.CIFAR_DIR)
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 1
    assert "differs from the official c58f30108f718f92721af3b95e74349a" in capsys.readouterr().err
    monkeypatch.setitem(data.SOURCES, "cifar10", data.Source(data.SOURCES["cifar10"].url, data.md5sum(tar_path)))
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 0
    assert "extracted" in capsys.readouterr().out
    assert data.load_cifar10(dest, "test")[1].tolist() == [9, 0]


def test_fetch_mirror_missing_file_cli(tmp_path):
    mirror = tmp_path / "mirror"
    make_mirror(mirror)
    (mirror / "images_evaluation.zip").unlink()
    proc = subprocess.run([sys.executable, "-m", "plasticity_utils.data", "--dest", str(tmp_path / "d"),
                           "--mirror", str(mirror)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "images_evaluation.zip" in proc.stderr and str(mirror) in proc.stderr


def fake_pooch(monkeypatch, staging: Path) -> list[tuple[str, str]]:
    """Serve the official file names from ``staging`` in place of pooch.retrieve; returns the calls made."""
    import pooch

    make_cifar(staging)
    make_omniglot(staging)
    with tarfile.open(staging / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(staging / data.CIFAR_DIR, arcname=data.CIFAR_DIR)
    calls = []

    def fake_retrieve(url, known_hash=None, fname=None, path=None, **kw):
        calls.append((url, known_hash))
        target = Path(path) / fname
        target.write_bytes((staging / fname).read_bytes())
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    return calls


def test_fetch_without_mirror_uses_pooch(tmp_path, monkeypatch, capsys):
    import pooch

    calls = fake_pooch(monkeypatch, tmp_path / "staging")
    dest = tmp_path / "data"
    assert data.main(["--dest", str(dest)]) == 0
    assert calls == [
        ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a"),
        ("https://raw.githubusercontent.com/brendenlake/omniglot/master/python/images_background.zip",
         "md5:68d2efa1b9178cc56df9314c21c6e718"),
        ("https://raw.githubusercontent.com/brendenlake/omniglot/master/python/images_evaluation.zip",
         "md5:6b91aef0f799c5bb55b94e3f2daec811"),
    ]
    assert data.cifar10_counts(dest) == {"train": 3, "test": 2}
    capsys.readouterr()

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(pooch, "retrieve", offline)
    assert data.main(["--dest", str(tmp_path / "other")]) == 1
    err = capsys.readouterr().err
    assert "make data DATA_MIRROR=<dir>" in err and "cifar-10-python.tar.gz" in err


# --------------------------------------------------------------------------- damaged or incomplete files
def test_fetch_refuses_corrupted_zip_with_unknown_md5(tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    make_mirror(mirror)
    bad = mirror / "images_evaluation.zip"
    size = bad.stat().st_size
    corrupt_member(bad)
    assert bad.stat().st_size == size and len(data.omniglot_index(bad)) == 1  # directory and layout look fine
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "CRC" in err and "replace it" in err
    assert not (dest / "images_evaluation.zip").exists()
    # the same damage reaching the loader is a DataError naming the zip, not a raw BadZipFile
    shutil.copyfile(bad, dest / "images_evaluation.zip")
    with pytest.raises(data.DataError, match=re.escape(str(dest / "images_evaluation.zip")) + ".*make data"):
        data.load_omniglot(dest)


def test_check_omniglot_known_md5s_skip_the_crc_check(tmp_path, monkeypatch):
    make_omniglot(tmp_path)
    path = tmp_path / "images_background.zip"
    index, note = data.check_omniglot(path)
    assert len(index) == 4 and "every member's CRC" in note
    monkeypatch.setattr(zipfile.ZipFile, "testzip", lambda self: pytest.fail("testzip run on a known md5"))
    monkeypatch.setitem(data.MIRROR_MD5, "images_background", data.md5sum(path))
    assert data.check_omniglot(path)[1] == "md5 of the re-packed mirror"
    monkeypatch.setitem(data.SOURCES, "images_background", data.Source("u", data.md5sum(path)))
    assert data.check_omniglot(path)[1] == "official md5"


def test_fetch_refetches_damaged_zip_in_dest(tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    args = ["--dest", str(dest), "--mirror", str(mirror)]
    make_mirror(mirror)
    assert data.main(args) == 0
    truncate(dest / "images_evaluation.zip")
    capsys.readouterr()
    assert data.main(args) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "images_evaluation" in x)
    assert "damaged" in line and "copied again" in line and "already there" not in line
    assert (dest / "images_evaluation.zip").read_bytes() == (mirror / "images_evaluation.zip").read_bytes()
    # a damaged source is refused, naming it and saying what to do
    truncate(dest / "images_evaluation.zip")
    truncate(mirror / "images_evaluation.zip")
    assert data.main(args) == 1
    err = capsys.readouterr().err
    assert str(mirror / "images_evaluation.zip") in err and "replace it" in err


def test_fetch_without_mirror_refetches_damaged_files(tmp_path, monkeypatch, capsys):
    calls = fake_pooch(monkeypatch, tmp_path / "staging")
    dest = tmp_path / "data"
    assert data.main(["--dest", str(dest)]) == 0
    truncate(dest / "images_background.zip")
    truncate(dest / data.CIFAR_DIR / "test_batch")
    calls.clear()
    capsys.readouterr()
    assert data.main(["--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert [url.rsplit("/", 1)[-1] for url, _ in calls] == ["cifar-10-python.tar.gz", "images_background.zip"]
    assert out.count("damaged") == 2 and "extracted from" in out and "downloaded" in out
    assert data.cifar10_counts(dest) == {"train": 3, "test": 2}
    assert len(data.check_omniglot(dest / "images_background.zip")[0]) == 4
    # a damaged download is refused, naming the file
    corrupt_member(tmp_path / "staging" / "images_background.zip")
    truncate(dest / "images_background.zip")
    assert data.main(["--dest", str(dest)]) == 1
    err = capsys.readouterr().err
    assert str(dest / "images_background.zip") in err and "download is damaged" in err


def test_offline_a_damaged_local_zip_is_reported_and_removed(tmp_path, monkeypatch, capsys):
    import pooch

    fake_pooch(monkeypatch, tmp_path / "staging")
    dest = tmp_path / "data"
    assert data.main(["--dest", str(dest)]) == 0
    zipped = dest / "images_evaluation.zip"
    truncate(zipped)
    (dest / data.CIFAR_DIR / "test_batch").unlink()

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(pooch, "retrieve", offline)
    capsys.readouterr()
    assert data.main(["--dest", str(dest)]) == 1  # CIFAR first: its damage and the failed download, both said
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert f"the local {dest / data.CIFAR_DIR}" in err and "test_batch missing" in err
    assert "could not download" in err and "cifar-10-python.tar.gz" in err
    fake_pooch(monkeypatch, tmp_path / "staging2")
    data.fetch_cifar10(dest)
    monkeypatch.setattr(pooch, "retrieve", offline)
    capsys.readouterr()
    assert data.main(["--dest", str(dest)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"the local {zipped} was damaged" in err and "removed" in err
    assert "could not download" in err and "images_evaluation.zip" in err
    assert not zipped.exists()  # a retry fetches a fresh copy instead of trusting the damaged one
    assert (dest / "images_background.zip").exists()  # the intact one is kept


def test_fetch_cifar_reports_missing_batches(tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    args = ["--dest", str(dest), "--mirror", str(mirror)]
    make_mirror(mirror)
    assert data.main(args) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10: 3 train / 2 test images" in out
    assert "data_batch_2, data_batch_3, data_batch_4, data_batch_5 missing" in out
    # a DEST folder with one batch absent is kept, but the absence is reported
    for i in (2, 4, 5):
        shutil.copyfile(dest / data.CIFAR_DIR / "data_batch_1", dest / data.CIFAR_DIR / f"data_batch_{i}")
    assert data.main(args) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "12 train / 2 test" in line and "data_batch_3 missing" in line and "already there" in line
    # no test_batch in DEST: fetched again; none (or no training batch) in the mirror: refused
    (dest / data.CIFAR_DIR / "test_batch").unlink()
    assert data.main(args) == 0
    assert "copied" in capsys.readouterr().out and data.cifar10_counts(dest) == {"train": 3, "test": 2}
    for gone in ("test_batch", "data_batch_1"):
        shutil.rmtree(dest / data.CIFAR_DIR, ignore_errors=True)
        (mirror / data.CIFAR_DIR / gone).rename(tmp_path / gone)
        assert data.main(args) == 1
        err = capsys.readouterr().err
        assert str(mirror / data.CIFAR_DIR) in err and gone in err
        (tmp_path / gone).rename(mirror / data.CIFAR_DIR / gone)


def test_truncated_cifar_batch_names_the_file(tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "data"
    make_mirror(mirror)
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 0
    batch = dest / data.CIFAR_DIR / "data_batch_1"
    truncate(batch)
    with pytest.raises(data.DataError, match=re.escape(str(batch)) + ".*make data"):
        data.load_cifar10(dest, "train")
    with pytest.raises(data.DataError, match=re.escape(str(batch))):
        data.cifar10_counts(dest)
    # the data step fetches a damaged DEST batch again, and refuses a damaged mirror batch
    capsys.readouterr()
    assert data.main(["--dest", str(dest), "--mirror", str(mirror)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert "damaged" in line and str(batch) in line and "copied" in line
    assert batch.read_bytes() == (mirror / data.CIFAR_DIR / "data_batch_1").read_bytes()
    truncate(mirror / data.CIFAR_DIR / "test_batch")
    assert data.main(["--dest", str(tmp_path / "other"), "--mirror", str(mirror)]) == 1
    err = capsys.readouterr().err
    assert str(mirror / data.CIFAR_DIR / "test_batch") in err and "replace it" in err


# --------------------------------------------------------------------------- real mirror files
needs_mirror = pytest.mark.skipif(not (MIRROR / "images_background.zip").is_file(),
                                  reason=f"no local data mirror at {MIRROR} (set DATA_MIRROR)")


@needs_mirror
def test_real_cifar_subset():
    counts = data.cifar10_counts(MIRROR)
    x, y = data.load_cifar10(MIRROR, "train")
    xt, yt = data.load_cifar10(MIRROR, "test")
    assert counts == {"train": 2000, "test": 1000} and x.shape == (2000, 32, 32, 3) and len(xt) == 1000
    assert y.min() == 0 and y.max() == 9 and len(np.unique(yt)) == 10
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]  # official first labels of data_batch_1
    # natural images: the three channels differ and are mostly correlated (not a mis-shuffled layout)
    assert 80 < x.mean() < 160
    r, g = x[..., 0].astype(float).ravel(), x[..., 1].astype(float).ravel()
    assert np.corrcoef(r, g)[0, 1] > 0.8 and not np.array_equal(r, g)


@needs_mirror
def test_real_omniglot_pngs():
    index = data.omniglot_index(MIRROR / "images_background.zip")
    assert len(index) == 964 and next(iter(index)) == "images_background/Alphabet_of_the_Magi/character01"
    assert len(data.omniglot_index(MIRROR / "images_evaluation.zip")) == 659
    entries = [e for k in list(index)[::200] for e in index[k][:3]]
    with zipfile.ZipFile(MIRROR / "images_background.zip") as z:
        with Image.open(io.BytesIO(z.read(entries[0]))) as im:
            assert im.mode == "1" and im.size == (105, 105)
        full = np.stack([data.decode_omniglot_png(z.read(e), 105) for e in entries])
        small = np.stack([data.decode_omniglot_png(z.read(e), 31) for e in entries])
    assert set(np.unique(full)) == {0.0, 1.0}
    assert 0.01 < full.mean() < 0.25 and (full.mean(axis=(1, 2)) > 0.002).all()
    assert small.min() >= 0 and small.max() <= 1 and small.max() > 0.9
    assert small.mean() == pytest.approx(full.mean(), rel=0.1)


@needs_mirror
def test_real_mirror_data_step(tmp_path, capsys):
    for name in data.OMNIGLOT_SETS:
        assert data.md5sum(MIRROR / f"{name}.zip") == data.MIRROR_MD5[name]
    args = ["--dest", str(tmp_path), "--mirror", str(MIRROR)]
    assert data.main(args) == 0
    out = capsys.readouterr().out
    assert "2000 train / 1000 test images" in out
    assert "data_batch_2, data_batch_3, data_batch_4, data_batch_5 missing" in out
    assert out.count("md5 of the re-packed mirror") == 2
    truncate(tmp_path / "images_evaluation.zip")
    assert data.main(args) == 0
    out = capsys.readouterr().out
    assert out.count("already there") == 2 and "damaged" in out and "copied again" in out
    assert data.md5sum(tmp_path / "images_evaluation.zip") == data.MIRROR_MD5["images_evaluation"]
