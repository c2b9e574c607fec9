"""Render requests: frozen, hashable, stable content keys, vectorised freezing == FrameMotion."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from worker_helpers import make_ev

from dexstudio.render.base import FrameMotion, SourceOptions
from dexstudio.worker.request import (
    OutputOptions,
    RequestBuilder,
    SourceImage,
    expression_model_id,
    frame_motions,
)
from dexstudio.worker.testing import SyntheticAnimator, SyntheticLatentAnimator


def test_frame_motions_equal_from_evaluated_row_by_row() -> None:
    rng = np.random.default_rng(0)
    yaw = rng.normal(0, 20, 50)
    yaw[:6] = [-0.0, -0.00004, 0.00005, 0.00015, -0.00005, 12.34565]  # rounding edges, -0.0
    ev = make_ev(yaw, start=100, jaw=rng.uniform(0, 1, 50))
    fast = frame_motions(ev, "em")
    slow = [FrameMotion.from_evaluated(ev, i, "em") for i in range(len(ev))]
    assert fast == slow
    assert [m.key() for m in fast] == [m.key() for m in slow]
    assert all(str(v) != "-0.0" for m in fast for v in m.euler)


def test_request_is_frozen_hashable_and_keyed_by_content(source: SourceImage) -> None:
    a = SyntheticAnimator()
    reqs = RequestBuilder(source, a).build(make_ev(np.array([1.0, 1.0, 2.0]), start=10))
    r10, r11, r12 = reqs[10], reqs[11], reqs[12]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r10.frame = 3  # type: ignore[misc]
    assert len({r10, r11, r12}) == 3  # hashable; frames differ
    assert r10.key == r11.key != r12.key  # the frame number is not content
    again = RequestBuilder(SourceImage.from_array(source.image.copy()), a).build(
        make_ev(np.array([1.0]), start=10))[10]
    assert again == r10 and hash(again) == hash(r10) and again.key == r10.key
    other_src = SourceImage.from_array(255 - source.image)
    assert RequestBuilder(other_src, a).build(make_ev(np.array([1.0])))[0].key != r10.key
    opts = SourceImage.from_array(source.image, SourceOptions(crop_size=256))
    assert RequestBuilder(opts, a).build(make_ev(np.array([1.0])))[0].key != r10.key
    assert RequestBuilder(source, SyntheticAnimator(seed=1)).build(
        make_ev(np.array([1.0])))[0].key != r10.key


def test_keys_split_decode_only_settings_and_output(source: SourceImage) -> None:
    ev = make_ev(np.array([5.0]))
    base = RequestBuilder(source, SyntheticLatentAnimator(gain=1.0)).build(ev)[0]
    gain = RequestBuilder(source, SyntheticLatentAnimator(gain=0.5)).build(ev)[0]
    sized = RequestBuilder(source, SyntheticLatentAnimator(gain=1.0),
                           output=OutputOptions(size=16)).build(ev)[0]
    assert gain.key != base.key and sized.key != base.key
    assert gain.intermediate_key == base.intermediate_key == sized.intermediate_key
    assert gain.source_state_id == base.source_state_id
    seed = RequestBuilder(source, SyntheticLatentAnimator(seed=3)).build(ev)[0]
    assert seed.intermediate_key != base.intermediate_key


def test_expression_model_id_enters_the_key(source: SourceImage) -> None:
    from dexstudio.core.motion import ExpressionModel

    em = ExpressionModel(np.zeros((468, 3), np.float32), np.zeros((52, 468, 3), np.float32),
                         np.zeros((16, 468, 3), np.float32), 10.0)
    ev = make_ev(np.array([0.0]))
    plain = RequestBuilder(source, SyntheticAnimator()).build(ev)[0]
    with_em = RequestBuilder(source, SyntheticAnimator(), expression_model=em).build(ev)[0]
    assert with_em.motion.expression_model_id == expression_model_id(em) != ""
    assert with_em.motion_key == with_em.motion.key()  # the builder's precomputed key
    assert with_em.key != plain.key
    assert with_em.expression_model is em


_KEY_SCRIPT = """
import numpy as np, sys
sys.path.insert(0, 'tests/worker')
from worker_helpers import make_ev
from dexstudio.worker.request import RequestBuilder, SourceImage
img = (np.arange(24 * 24 * 3) % 251).astype(np.uint8).reshape(24, 24, 3)
b = RequestBuilder(SourceImage.from_array(img), animator_id='synthetic', settings_key='s')
print(b.build(make_ev(np.array([12.5, -3.0])))[1].key)
"""


def test_key_is_stable_across_processes() -> None:
    """sha256 content keys, not hash(): two interpreters (different hash seeds) agree."""
    keys = {subprocess.run([sys.executable, "-c", _KEY_SCRIPT], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": str(seed)},
                           cwd=Path(__file__).resolve().parents[2]).stdout.strip()
            for seed in (1, 2)}
    assert len(keys) == 1 and len(keys.pop()) == 64


def test_source_image_rejects_wrong_arrays() -> None:
    with pytest.raises(ValueError, match="uint8"):
        SourceImage.from_array(np.zeros((4, 4, 3), np.float32))
    img = np.zeros((4, 4, 3), np.uint8)
    s = SourceImage.from_array(img)
    assert not s.image.flags.writeable and img.flags.writeable  # a read-only copy


def test_builder_precomputed_keys_equal_lazily_computed_ones(source: SourceImage) -> None:
    rng = np.random.default_rng(4)
    ev = make_ev(rng.normal(0, 30, 40), jaw=rng.uniform(0, 1, 40))
    built = RequestBuilder(source, SyntheticLatentAnimator())
    for f, r in built.build(ev).items():
        fresh = dataclasses.replace(r)  # a new instance: nothing cached
        assert "key" not in fresh.__dict__
        assert fresh.motion_key == r.motion.key() == r.motion_key
        assert (fresh.key, fresh.intermediate_key, fresh.source_state_id) == \
            (r.key, r.intermediate_key, r.source_state_id)
