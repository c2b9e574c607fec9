"""Contact sheets: a grid of images to look at results (e.g. source | driving | result at 6 frames)."""

from __future__ import annotations

import os
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from dexstudio.io.export import draw_label, resize_to_height
from dexstudio.io.image import save_image

PathLike = Union[str, "os.PathLike[str]"]


def contact_sheet(rows: Sequence[Sequence[Optional[np.ndarray]]], labels: Optional[Sequence[str]] = None, *,
                  row_labels: Optional[Sequence[str]] = None, cell_height: int = 256, gap: int = 4,
                  background: tuple[int, int, int] = (24, 24, 24)) -> np.ndarray:
    """Lay images out in a grid, one list per row.

    Every cell is scaled to ``cell_height`` rows keeping its aspect and centred in its
    column (a column is as wide as its widest cell). A ``None`` cell, or a row shorter
    than the others, leaves the cell empty.

    Args:
        rows: ``rows[r][c]`` is an ``(H, W, 3) uint8`` RGB image (any size) or None.
        labels: one header per column (e.g. ``["source", "driving", "result"]``), drawn
            in a band above the grid; None for no header.
        row_labels: one text per row (e.g. ``"frame 120"``), drawn in the row's first cell.
        cell_height: rows of pixels per cell.
        gap: pixels between cells and around the grid.
        background: RGB of the gaps and empty cells.
    Returns:
        a new ``(H, W, 3) uint8`` image.
    Raises:
        ValueError: no images, a label count that does not match, or a non-RGB cell.
    """
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    if n_rows == 0 or n_cols == 0:
        raise ValueError("contact_sheet needs at least one image")
    if labels is not None and len(labels) != n_cols:
        raise ValueError(f"{len(labels)} column labels for {n_cols} columns")
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(f"{len(row_labels)} row labels for {n_rows} rows")
    cells: list[list[Optional[np.ndarray]]] = []
    for r, row in enumerate(rows):
        out_row: list[Optional[np.ndarray]] = []
        for c in range(n_cols):
            img = row[c] if c < len(row) else None
            if img is not None:
                img = np.asarray(img)
                if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                    raise ValueError(f"cell ({r}, {c}) must be (H, W, 3) uint8 RGB, got {img.dtype} {img.shape}")
                img = resize_to_height(img, cell_height)
            out_row.append(img)
        cells.append(out_row)
    widths = [max((row[c].shape[1] for row in cells if row[c] is not None), default=cell_height)
              for c in range(n_cols)]
    header = max(22, cell_height // 6) if labels else 0
    width = gap + sum(w + gap for w in widths)
    height = gap + header + n_rows * (cell_height + gap)
    sheet = np.empty((height, width, 3), np.uint8)
    sheet[:] = background
    x_starts = np.cumsum([gap] + [w + gap for w in widths[:-1]])
    if labels:
        scale = header / 40
        thick = max(1, round(scale * 1.5))
        for x0, w, text in zip(x_starts, widths, labels):
            (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
            org = (int(x0 + max(0, (w - tw) // 2)), int(gap + (header + th) // 2))
            cv2.putText(sheet, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), thick, cv2.LINE_AA)
    for r, row in enumerate(cells):
        y0 = gap + header + r * (cell_height + gap)
        for c, img in enumerate(row):
            if img is None:
                continue
            x0 = int(x_starts[c]) + (widths[c] - img.shape[1]) // 2
            sheet[y0:y0 + cell_height, x0:x0 + img.shape[1]] = img
        if row_labels is not None and row[0] is not None:
            x0 = int(x_starts[0]) + (widths[0] - row[0].shape[1]) // 2
            draw_label(sheet[y0:y0 + cell_height, x0:x0 + row[0].shape[1]], row_labels[r])
    return sheet


def save_contact_sheet(path: PathLike, rows: Sequence[Sequence[Optional[np.ndarray]]],
                       labels: Optional[Sequence[str]] = None, **kwargs: object) -> np.ndarray:
    """:func:`contact_sheet` written atomically to ``path`` (PNG/JPEG by extension); returns it."""
    sheet = contact_sheet(rows, labels, **kwargs)  # type: ignore[arg-type]
    save_image(path, sheet)
    return sheet
