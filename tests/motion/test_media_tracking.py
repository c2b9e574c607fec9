"""Real driving clips (../shared/media): face-lost rate, blinks/winks, head turns.

One extraction per clip (module-scoped, 2D landmarks not kept) to stay within ~60 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from dexstudio.motion.extract import ExtractSettings, run_extraction

pytestmark = pytest.mark.media

CLIPS = [
    "dagan_driving.mp4", "liveportrait_d0.mp4", "liveportrait_d3.mp4", "liveportrait_d7.mp4",
    "liveportrait_d10.mp4", "liveportrait_d13.mp4", "liveportrait_d18.mp4", "liveportrait_d19.mp4",
    "liveportrait_d20.mp4", "xportrait_driving_video.mp4",
]


@pytest.fixture(scope="module")
def results(media_dir, tmp_path_factory):
    import os

    old = os.environ.get("DEXSTUDIO_CACHE_DIR")
    os.environ["DEXSTUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = run_extraction(media_dir / "driving" / name,
                                         ExtractSettings(keep_landmarks_2d=False), cache=False)
        return cache[name]

    yield get
    if old is None:
        del os.environ["DEXSTUDIO_CACHE_DIR"]
    else:
        os.environ["DEXSTUDIO_CACHE_DIR"] = old


def test_every_driving_clip_is_listed(media_dir):
    assert sorted(p.name for p in (media_dir / "driving").glob("*.mp4")) == sorted(CLIPS)


@pytest.mark.parametrize("name", CLIPS)
def test_clip_tracks_with_few_lost_frames_and_reconstructs(results, name):
    r = results(name)
    assert r.report.lost_fraction < 0.02, (name, r.report.n_lost, r.report.lost_ranges)
    assert r.report.recon_max_rel < 0.01, (name, r.report.recon_max_rel)
    assert np.isfinite(r.track.channel_matrix()).all()


def test_blinks_and_winks_d7(results):
    """liveportrait_d7: left-eye wink (~frames 22-32), right-eye wink (~44-56), then
    full blinks/squeezes (~68-84, ~96-124). Left/right are the subject's sides."""
    t = results("liveportrait_d7.mp4").track
    L = t.channel("expr.eyeBlinkLeft")
    R = t.channel("expr.eyeBlinkRight")
    # both eyes close (blinks) above 0.5
    assert L[68:86].max() > 0.5 and R[68:86].max() > 0.5
    assert L[96:126].max() > 0.5 and R[96:126].max() > 0.5
    # the subject's left-eye wink: left high, right low at the same frame
    left_wink = (L[18:36] > 0.5) & (R[18:36] < 0.4)
    assert left_wink.any(), (L[18:36].round(2), R[18:36].round(2))
    # the subject's right-eye wink: right high, left low
    right_wink = (R[42:60] > 0.5) & (L[42:60] < 0.4)
    assert right_wink.any(), (L[42:60].round(2), R[42:60].round(2))
    # and the winks separate: the winking eye leads by a clear margin
    assert (L - R)[18:36].max() > 0.3 and (R - L)[42:60].max() > 0.3
    # open eyes at rest
    assert L[130:170].mean() < 0.1 and R[130:170].mean() < 0.1


def test_head_turns_and_returns_dagan(results):
    """dagan_driving: starts turned to the subject's right (image left, yaw < 0), turns to
    their left (yaw > 0, ~frames 60-80), back, and nods; pitch swings both ways."""
    t = results("dagan_driving.mp4").track
    yaw, pitch = t.euler[:, 0], t.euler[:, 1]
    assert yaw[:40].mean() < -5
    assert yaw[60:80].max() > 10
    assert yaw[115:135].min() < -5
    assert np.sign(yaw[:40].mean()) != np.sign(yaw[60:80].mean())
    dp = pitch - pitch.mean()  # about the clip's mean head pitch (camera above the eyes)
    assert dp.max() > 3 and dp.min() < -3, (dp.max(), dp.min())
    # chin up when turned toward image right (frame ~76), down when looking down (~136)
    assert pitch[70:85].mean() > pitch[130:142].mean() + 4
