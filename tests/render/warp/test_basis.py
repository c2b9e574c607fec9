"""The generic expression basis: fitting recovers a linear model; the shipped one is sane."""

from __future__ import annotations

import numpy as np

from dexstudio.core.channels import ARKIT_NAMES
from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import load_canonical_face
from dexstudio.render.warp.basis import ClipSamples, ExpressionBasis, fit_basis, load_basis


def test_fit_recovers_known_basis(tmp_path) -> None:
    rng = np.random.default_rng(1)
    true = rng.normal(size=(52, 478, 3)).astype(np.float32) * 0.01
    clips = []
    for k in range(3):
        W = rng.uniform(0, 1, size=(200, 52)).astype(np.float32)
        ident = rng.normal(size=(478, 3)).astype(np.float32)  # per-clip identity: centred away
        Y = ident[None] + (W @ true.reshape(52, -1)).reshape(-1, 478, 3) * 10.0
        clips.append(ClipSamples(Y, W))
    b = fit_basis(clips, face_size=10.0, ridge=1e-6)
    assert np.abs(b.basis - true).max() < 1e-3
    b.save(tmp_path / "b.npz")
    b2 = load_basis(tmp_path / "b.npz")
    assert np.abs(b2.basis - true).max() < 1e-3  # float16 storage


def test_shipped_basis_moves_the_right_points() -> None:
    b = load_basis()
    face = load_canonical_face()
    assert b.basis.shape == (52, 478, 3)
    assert b.info.get("clips"), "the shipped basis records the clips it was fitted on"
    jaw = b.offsets(np.eye(52)[ARKIT_NAMES.index("jawOpen")]) * face.face_size
    assert jaw[ls.CHIN, 1] < -0.5  # canonical Y is up: the chin goes down by > 0.5 cm
    assert abs(jaw[ls.FOREHEAD_TOP, 1]) < 0.3
    blink = b.offsets(np.eye(52)[ARKIT_NAMES.index("eyeBlinkLeft")]) * face.face_size
    assert blink[ls.LEFT_EYE_UPPER_LID, 1] < -0.2  # the subject's left upper lid comes down
    assert abs(blink[ls.RIGHT_EYE_UPPER_LID, 1]) < abs(blink[ls.LEFT_EYE_UPPER_LID, 1]) / 2
    look = b.offsets(np.eye(52)[ARKIT_NAMES.index("eyeLookOutLeft")]) * face.face_size
    assert look[ls.LEFT_IRIS_CENTER, 0] > 0.05  # out = toward the subject's left = +X


def test_zeros_basis() -> None:
    assert not ExpressionBasis.zeros().offsets(np.ones(52)).any()
