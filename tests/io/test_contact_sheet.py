import numpy as np
import pytest

from dexstudio.io.contact_sheet import contact_sheet, save_contact_sheet
from dexstudio.io.image import load_image


def solid(h, w, v):
    return np.full((h, w, 3), v, np.uint8)


def test_grid_layout_sizes_and_placement():
    rows = [[solid(100, 100, 50), solid(100, 200, 100), solid(50, 50, 150)] for _ in range(6)]
    sheet = contact_sheet(rows, None, cell_height=64, gap=4, background=(0, 0, 0))
    # columns: 64, 128, 64 wide; 6 rows of 64
    assert sheet.shape == (4 + 6 * 68, 4 + 68 + 132 + 68, 3)
    assert (sheet[4:68, 4:68] == 50).all()
    assert (sheet[4:68, 72:200] == 100).all()
    assert (sheet[4 + 5 * 68:4 + 5 * 68 + 64, 204:268] == 150).all()
    assert (sheet[:4] == 0).all() and (sheet[68:72] == 0).all()  # gaps


def test_labels_add_a_header_band_and_row_labels_draw():
    rows = [[solid(64, 64, 200)] * 3 for _ in range(2)]
    plain = contact_sheet(rows, None, cell_height=64)
    with_labels = contact_sheet(rows, ["source", "driving", "result"], row_labels=["f 0", "f 30"], cell_height=64)
    assert with_labels.shape[0] > plain.shape[0] and with_labels.shape[1] == plain.shape[1]
    band = with_labels[4:with_labels.shape[0] - plain.shape[0] + 4]
    assert (band > 100).any()  # header text is drawn
    body = with_labels[with_labels.shape[0] - plain.shape[0]:]
    assert (body != plain).any()  # row labels drawn in the first cells


def test_ragged_rows_and_none_cells_stay_empty():
    sheet = contact_sheet([[solid(32, 32, 90), None], [solid(32, 32, 90)]], cell_height=32, gap=2,
                          background=(5, 5, 5))
    assert sheet.shape == (2 + 2 * 34, 2 + 2 * 34, 3)
    assert (sheet[2:34, 36:68] == 5).all() and (sheet[36:68, 36:68] == 5).all()


def test_bad_inputs():
    with pytest.raises(ValueError):
        contact_sheet([])
    with pytest.raises(ValueError, match="labels"):
        contact_sheet([[solid(8, 8, 1)]], ["a", "b"])
    with pytest.raises(ValueError, match="uint8"):
        contact_sheet([[np.zeros((8, 8), np.float32)]])


def test_save(tmp_path, sample_portrait):
    p = load_image(sample_portrait)
    out = tmp_path / "sheet.png"
    sheet = save_contact_sheet(out, [[p, p[:, :300], p[::2, ::2]]] * 2, ["source", "driving", "result"],
                               cell_height=96)
    np.testing.assert_array_equal(load_image(out), sheet)
