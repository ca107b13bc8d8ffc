"""The structure of a trained network's w and alpha (NIPS 2017 Fig. 3 right; ICML 2018 Figure 5): neighbour
lines and mid-line bands, measured as ratios of mean magnitudes, and the picture."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from ...plastic import PlasticRecurrent
from ..contract import missed, verdict
from .config import AUTHORS_EPISODES


STANDS_OUT = 1.0  # a line or band seen in a heatmap of ~10^6 connections stands out: its mean |alpha| at least
# twice (excess 1.0) that of the other pixel-to-pixel connections
MIDLINE_ROWS = 2  # "near the midsection": the image rows that border the other half, 2 on each side of the mid-line
# (1/8 of the image; at half and twice, the two boundary rows alone or a quarter of the image)


# --------------------------------------------------------------------------- structure of the trained matrices
def pixel_block(matrix: Tensor, side: int) -> Tensor:
    """The pixel-to-pixel part of a (side^2 + 1)-neuron matrix (the bias neuron, last, left out), in float64."""
    n = side * side
    if matrix.shape != (n + 1, n + 1):
        raise ValueError(f"expected a ({n + 1}, {n + 1}) matrix ({side} x {side} pixels + bias), "
                         f"got {tuple(matrix.shape)}")
    return matrix[:n, :n].detach().double().cpu()


def pixel_offsets(side: int) -> tuple[Tensor, Tensor]:
    """(dy, dx) from pre- to post-synaptic pixel for every pair of pixels, each (side^2, side^2): pixels
    are row-major (:mod:`plasticity_utils.tasks.images`), pixel p at row p // side, column p % side."""
    index = torch.arange(side * side)
    rows, cols = index // side, index % side
    return rows[None, :] - rows[:, None], cols[None, :] - cols[:, None]


def neighbour_pairs(side: int) -> Tensor:
    """(side^2, side^2) bool: pre- and post-synaptic pixel are image neighbours, one pixel apart in x or
    in y. In the matrix these are the diagonal lines at index offsets +-1 (less the pairs that wrap from
    one row's end to the next row's start) and +-side, the lines NIPS 2017 Fig. 3 right relates to "the
    high correlation of neighboring pixels"."""
    dy, dx = pixel_offsets(side)
    return dy.abs() + dx.abs() == 1


def other_pairs(side: int) -> Tensor:
    """(side^2, side^2) bool: two distinct pixels that are not image neighbours (:func:`neighbour_pairs`), the
    connections every ratio below compares against."""
    return ~neighbour_pairs(side) & ~torch.eye(side * side, dtype=torch.bool)


def midline_pixels(side: int, rows: float = MIDLINE_ROWS) -> Tensor:
    """(side^2,) bool: the pixels in the ``rows`` image rows on each side of the mid-line, where the shown
    half of a probe meets the erased half (:func:`~plasticity_utils.tasks.images.image_episode` erases
    the top or the bottom side / 2 rows)."""
    if rows != int(rows) or not 1 <= rows < side // 2:
        raise ValueError(f"rows must be a whole number from 1 to {side // 2 - 1} (fewer than half the image), "
                         f"got {rows}")
    row = torch.arange(side * side) // side
    return (row >= side // 2 - int(rows)) & (row < side // 2 + int(rows))


def magnitude_ratio(matrix: Tensor, side: int, inside: Tensor, outside: Tensor) -> float:
    """Mean |entry| of the pixel-to-pixel connections in ``inside`` over that of those in ``outside``
    ((side^2, side^2) bool masks)."""
    m = pixel_block(matrix, side).abs()
    if not inside.any() or not outside.any():
        raise ValueError("magnitude_ratio: both masks must select at least one connection")
    return float(m[inside].mean() / m[outside].mean())


def line_ratio(matrix: Tensor, side: int) -> float:
    """The neighbour lines (NIPS 2017 §3.3, Fig. 3 right): mean |entry| of the connections between image
    neighbours (:func:`neighbour_pairs`) over that of every other connection between two distinct pixels."""
    return magnitude_ratio(matrix, side, neighbour_pairs(side), other_pairs(side))


def band_ratio(matrix: Tensor, side: int, rows: float = MIDLINE_ROWS) -> float:
    """The mid-line bands (NIPS 2017 §3.3, Fig. 3 right, "bands near the midsection"): mean |entry| of the
    connections from or to a pixel near the mid-line (:func:`midline_pixels`) over that of the other
    connections. Both sides leave out self-connections and the neighbour lines (:func:`line_ratio`
    measures those), so a band is not counted for the lines that cross it."""
    other = other_pairs(side)
    mid = midline_pixels(side, rows)
    band = mid[:, None] | mid[None, :]
    return magnitude_ratio(matrix, side, band & other, ~band & other)


def half_field_ratios(matrix: Tensor, side: int) -> dict[str, float]:
    """Descriptive, not judged (measured after the first cpu runs were seen): the half-field structure of a
    trained matrix. ``across halves``: mean |entry| of the connections between a pixel of the top half and one
    of the bottom half over that of the connections within a half; ``neighbour lines within a half``:
    :func:`line_ratio` restricted to connections within a half, so that the across-half connections do not
    weigh on the "others". Self-connections and neighbour lines are left out of every other set."""
    other, top = other_pairs(side), torch.arange(side * side) < side * side // 2
    within = top[:, None] == top[None, :]
    return {"across halves": magnitude_ratio(matrix, side, other & ~within, other & within),
            "neighbour lines within a half": magnitude_ratio(matrix, side, neighbour_pairs(side) & within,
                                                             other & within)}


def structure_verdict(ratio: float, excess: float, what: str, episodes: int) -> str:
    """Verdict on "the trained plasticity matrix shows ``what``" (NIPS 2017 §3.3, Fig. 3 right; the ICML 2018
    course summary, Figure 5) from ``ratio``, the mean |alpha| of the connections that make it over that of
    the others: *reproduced* if it stands out by at least ``excess`` (ratio >= 1 + excess); else the budget
    rule (:func:`.contract.missed`) against the released code's training length, as the papers show the
    matrices after training without saying how long."""
    bound = 1 + excess
    if ratio >= bound:
        return verdict("reproduced", f"{what}: mean |alpha| {ratio:.2f}x the others' (>= {bound:g}x)")
    return missed(f"{what} do not stand out: mean |alpha| {ratio:.2f}x the others' (< {bound:g}x)", episodes,
                  AUTHORS_EPISODES, of="the released code's")


def displacement_profile(matrix: Tensor, side: int) -> np.ndarray:
    """Mean of a pixel-to-pixel matrix (the first side^2 rows and columns) over all pairs of pixels
    with the same displacement (dy, dx) from pre- to post-synaptic pixel: (2 side - 1, 2 side - 1)."""
    m = pixel_block(matrix, side)
    dy, dx = (d + side - 1 for d in pixel_offsets(side))
    key = (dy * (2 * side - 1) + dx).reshape(-1)
    size = (2 * side - 1) ** 2
    sums = torch.bincount(key, weights=m.reshape(-1), minlength=size)
    counts = torch.bincount(key, minlength=size).double()
    return (sums / counts).reshape(2 * side - 1, 2 * side - 1).numpy()


def plot_matrices(net: PlasticRecurrent, side: int = 32, zoom: int = 96, reach: int = 10) -> plt.Figure:
    """Fig. 3 right: w and alpha as heatmaps (pre-synaptic neuron = row, post = column; pixels row
    major, the bias neuron last), a ``zoom`` x ``zoom`` block centred on the mid-line, and the mean
    over pixel pairs at each displacement (dy, dx) up to ``reach`` pixels (each such displacement
    is shared by at least (side - reach)^2 pixel pairs, so the means are not dominated by noise)."""
    c = net.connection
    if c.alpha is None or c.alpha.dim() != 2:
        raise ValueError("plot_matrices needs a per-connection alpha")
    mats = {"w": c.w.detach().cpu(), "alpha": c.alpha.detach().cpu()}
    mid = side * side // 2
    lo, hi = mid - zoom // 2, mid + zoom // 2
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.6), gridspec_kw={"width_ratios": [1.5, 1, 1]})
    for row, (name, m) in zip(axes, mats.items()):
        lim = float(np.percentile(m.abs().numpy(), 99.5))
        im = row[0].imshow(m.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="antialiased")
        row[0].set(title=f"{name}, all {m.shape[0]} x {m.shape[1]}", xlabel="post-synaptic neuron",
                   ylabel="pre-synaptic neuron")
        fig.colorbar(im, ax=row[0], shrink=0.75)
        im = row[1].imshow(m[lo:hi, lo:hi].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                           extent=(lo - 0.5, hi - 0.5, hi - 0.5, lo - 0.5))
        row[1].axhline(mid - 0.5, color="k", lw=0.6, ls=":"), row[1].axvline(mid - 0.5, color="k", lw=0.6, ls=":")
        row[1].set(title=f"{name}, neurons {lo}-{hi - 1}\n(image rows {lo // side}-{(hi - 1) // side}, mid-line dotted)",
                   xlabel="post-synaptic neuron")
        fig.colorbar(im, ax=row[1], shrink=0.75)
        centre = side - 1
        prof = displacement_profile(m, side)[centre - reach : centre + reach + 1, centre - reach : centre + reach + 1]
        plim = float(np.abs(prof).max()) or 1.0
        im = row[2].imshow(prof, cmap="RdBu_r", vmin=-plim, vmax=plim,
                           extent=(-reach - 0.5, reach + 0.5, reach + 0.5, -reach - 0.5))
        row[2].set(title=f"{name}, mean over pixel pairs\nat displacement (dy, dx)", xlabel="dx (pixels)",
                   ylabel="dy (pixels)")
        fig.colorbar(im, ax=row[2], shrink=0.75)
    fig.tight_layout()
    return fig
