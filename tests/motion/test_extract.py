"""Motion extraction on small clips: pose truth, lost frames, face following, cache, cancel."""

from __future__ import annotations

import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from dexstudio.core.errors import Cancelled, NoFaceError
from dexstudio.core.progress import CancelToken, Progress
from dexstudio.core.rotation import euler_to_matrix, quaternion_to_matrix, rotation_angle_deg
from dexstudio.io.video_reader import iter_frames
from dexstudio.motion.extract import ExtractSettings, run_extraction

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEXSTUDIO_CACHE_DIR", str(tmp_path / "cache"))


def write_frames(path: Path, frames, rate: int = 30) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        first = True
        for f in frames:
            if first:
                s.height, s.width = f.shape[:2]
                s.pix_fmt = "yuv420p"
                s.options = {"crf": "18"}
                first = False
            for pk in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


def _sample_truth(n: int = 90):
    """(roll deg, scale, M 2x3) of resources/scripts/make_samples.py per frame."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_samples", REPO / "resources/scripts/make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = []
    for i in range(n):
        ang, sc, dx, dy = mod.transform(i / (n - 1))
        M = cv2.getRotationMatrix2D((225.0, 130.0), ang, sc)
        M[:, 2] += (dx, dy)
        out.append((-ang, sc, M))
    return out


@pytest.fixture(scope="module")
def sample_result(sample_driving, tmp_path_factory):
    import os

    os.environ["DEXSTUDIO_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    try:
        return run_extraction(sample_driving)
    finally:
        del os.environ["DEXSTUDIO_CACHE_DIR"]


def test_sample_pose_matches_the_synthetic_truth(sample_result):
    t, rep = sample_result.track, sample_result.report
    assert t.n_frames == 90 and rep.n_lost == 0 and t.valid.all()
    truth = _sample_truth()
    roll = np.array([r for r, _, _ in truth])
    scale = np.array([s for _, s, _ in truth])
    d_roll = (t.euler[:, 2] - t.euler[0, 2]) - (roll - roll[0])
    assert np.abs(d_roll).max() < 1.5, np.abs(d_roll).max()
    # in-plane motion only: yaw/pitch stay put (MediaPipe's pitch wobbles ~+-2.4 deg on
    # this compressed clip; the 2-deg acceptance bound is checked on stills in test_pose)
    assert np.abs(t.euler[:, :2] - np.median(t.euler[:, :2], axis=0)).max() < 2.5
    np.testing.assert_allclose(t.scale, scale / scale[0], rtol=0.03)
    assert t.scale[0] == 1.0
    # tx, ty: the head centre follows the known affine map of the frame-0 centre
    ref = t.face_size_px[0]
    c0 = np.array([256 + t.translation[0, 0] * ref, 256 + t.translation[0, 1] * ref])
    M0inv = cv2.invertAffineTransform(truth[0][2])
    src = M0inv[:, :2] @ c0 + M0inv[:, 2]
    for i in (20, 45, 70):
        pred = truth[i][2][:, :2] @ src + truth[i][2][:, 2]
        got = np.array([256 + t.translation[i, 0] * ref, 256 + t.translation[i, 1] * ref])
        assert np.linalg.norm(pred - got) < 0.04 * ref, (i, pred, got)


def test_track_arrays_are_consistent(sample_result):
    t = sample_result.track
    F = t.n_frames
    assert t.quaternion.shape == (F, 4) and t.blendshapes.shape == (F, 52) and t.detail.shape == (F, 16)
    assert t.landmarks_2d.shape == (F, 478, 2) and t.landmarks_2d.dtype == np.float32
    R_e = euler_to_matrix(t.euler[:, 0], t.euler[:, 1], t.euler[:, 2])
    assert rotation_angle_deg(R_e, quaternion_to_matrix(t.quaternion)).max() < 1e-4  # arccos noise
    assert t.source is not None and t.source.width == 512 and len(t.source.content_hash) == 64
    assert t.channel_matrix().shape == (F, 6 + 52 + 16)


def test_expression_reconstruction_within_one_percent(sample_result):
    rep = sample_result.report
    assert rep.recon_max_rel < 0.01 and rep.recon_mean_rel < rep.recon_max_rel


def test_the_expression_model_reproduces_the_tracked_irises(sample_result):
    """The take's model covers the 10 iris points (L = 478): its reconstruction, posed as
    the frame, lands on the tracked irises (so a take's gaze is its own, not the generic
    basis's)."""
    from dexstudio.motion.face_model import load_canonical_face
    from dexstudio.motion.pose import project

    t = sample_result.track
    m = t.expression_model
    assert m.mean_shape.shape == (478, 3) and m.blend_basis.shape == (52, 478, 3)
    face = load_canonical_face()
    ref = t.face_size_px[0]
    recon = m.reconstruct(t.blendshapes, t.detail)
    for i in (0, 30, 60, 89):
        centre = np.array([256 + t.translation[i, 0] * ref, 256 + t.translation[i, 1] * ref])
        img = project(face, quaternion_to_matrix(t.quaternion[i]), t.face_size_px[i] / face.face_size, centre,
                      vertices=recon[i])
        err = np.linalg.norm(img[468:, :2] - t.landmarks_2d[i, 468:], axis=1).max() / t.face_size_px[i]
        assert err < 0.01, (i, err)


def test_cache_makes_reopen_instant(sample_driving):
    first = run_extraction(sample_driving, ExtractSettings(keep_landmarks_2d=False))
    t0 = time.perf_counter()
    again = run_extraction(sample_driving, ExtractSettings(keep_landmarks_2d=False))
    assert again.report.cache_hit and not first.report.cache_hit
    assert time.perf_counter() - t0 < 0.5 * first.report.seconds
    np.testing.assert_array_equal(first.track.detail, again.track.detail)
    np.testing.assert_array_equal(first.track.euler, again.track.euler)
    assert again.report.n_lost == first.report.n_lost
    # other settings -> another cache entry
    other = run_extraction(sample_driving, ExtractSettings(keep_landmarks_2d=False, ridge=0.01))
    assert not other.report.cache_hit


def test_a_cache_hit_names_the_file_asked_for(sample_driving, tmp_path):
    """The cache is keyed by content: a copy of a clip in another folder (or the clip
    moved there) is a hit, and its track names the copy (the audio an export muxes, the
    path a project saves), not the file first extracted, which may be gone."""
    import shutil

    a = tmp_path / "a" / "clip.mp4"
    a.parent.mkdir()
    shutil.copy(sample_driving, a)
    run_extraction(a, ExtractSettings(keep_landmarks_2d=False))
    b = tmp_path / "b" / "moved.mp4"
    b.parent.mkdir()
    shutil.move(a, b)
    again = run_extraction(b, ExtractSettings(keep_landmarks_2d=False))
    assert again.report.cache_hit
    assert again.track.source is not None and again.track.source.path == str(b)


def test_progress_and_cancel(sample_driving, tmp_path):
    seen: list[Progress] = []
    token = CancelToken()

    def progress(p: Progress) -> None:
        seen.append(p)
        if p.stage == "tracking" and p.done >= 20:
            token.cancel()

    with pytest.raises(Cancelled):
        run_extraction(sample_driving, progress=progress, cancel=token, cache=False)
    assert any(p.stage == "tracking" and p.total == 90 for p in seen)
    spill = list((tmp_path / "cache" / "tmp").glob("*.f32"))
    assert spill == []  # the temporary landmark file is removed


@pytest.fixture(scope="module")
def sample_frames(sample_driving):
    return [f for _, f in iter_frames(sample_driving, stop=24)]


def test_lost_frames_are_flagged_and_interpolated(sample_frames, tmp_path):
    frames = [f.copy() for f in sample_frames]
    for i in range(8, 13):
        frames[i][:] = 128
    clip = write_frames(tmp_path / "gap.mp4", frames)
    r = run_extraction(clip, cache=False)
    t = r.track
    assert r.report.n_lost == 5 and r.report.lost_ranges == ((8, 13),)
    assert not t.valid[8:13].any() and t.valid[:8].all() and t.valid[13:].all()
    # rotation is interpolated on the quaternion (nlerp), so Euler angles are linear
    # only approximately; the other channels exactly
    for ch, tol in ((t.euler[:, 2], 0.01), (t.scale, 1e-6), (t.translation[:, 0], 1e-6),
                    (t.blendshapes[:, 0], 1e-6), (t.detail[:, 0], 1e-5)):
        ch = np.asarray(ch, np.float64)
        expect = np.interp(np.arange(8, 13), [7, 13], [ch[7], ch[13]])
        np.testing.assert_allclose(ch[8:13], expect, atol=tol)
    assert (t.scale[8:13] > 0.5).all()  # never zero-filled


def test_lost_at_the_ends_hold_the_nearest_value(sample_frames, tmp_path):
    frames = [np.full_like(sample_frames[0], 90)] * 3 + list(sample_frames[:10])
    clip = write_frames(tmp_path / "late.mp4", frames)
    t = run_extraction(clip, cache=False).track
    assert not t.valid[:3].any() and t.valid[3:].all()
    np.testing.assert_array_equal(t.euler[:3], np.repeat(t.euler[3:4], 3, axis=0))
    assert t.scale[3] == 1.0  # the reference is the first tracked frame


def test_no_identity_jump_when_a_bigger_face_appears(sample_frames, tmp_path):
    """Left: the followed face. From frame 6 a larger face appears on the right."""
    frames = []
    for i, f in enumerate(sample_frames[:14]):
        canvas = np.full((512, 1024, 3), 200, np.uint8)
        canvas[:, :512] = cv2.resize(f[0:320, 65:385], (512, 512))
        if i >= 6:
            canvas[6:506, 518:1018] = cv2.resize(f[20:260, 105:345], (500, 500))
        frames.append(canvas)
    clip = write_frames(tmp_path / "two.mp4", frames)
    from dexstudio.motion.tracker import MediaPipeTracker

    with MediaPipeTracker(max_faces=2) as tr:  # the premise: both faces are seen, the new one is larger
        faces = tr.detect_image(frames[-1])
    assert len(faces) == 2 and max(faces, key=lambda f: f.area).center[0] > 512
    r = run_extraction(clip, ExtractSettings(max_faces=2), cache=False)
    t = r.track
    assert t.valid.all()
    ref = t.face_size_px[0]
    cx = 512 + t.translation[:, 0] * ref
    assert (cx < 512).all(), cx  # stayed on the left face
    assert np.abs(np.diff(t.scale)).max() < 0.1


def test_face_index_picks_the_right_face(sample_frames, tmp_path):
    frames = []
    for f in sample_frames[:4]:
        face = cv2.resize(f[0:320, 65:385], (512, 512))
        frames.append(np.concatenate([face, face], axis=1))
    clip = write_frames(tmp_path / "twins.mp4", frames)
    right = run_extraction(clip, ExtractSettings(face_index=1), cache=False).track
    left = run_extraction(clip, ExtractSettings(face_index=0), cache=False).track
    ref_r, ref_l = right.face_size_px[0], left.face_size_px[0]
    assert (512 + right.translation[:, 0] * ref_r > 512).all()
    assert (512 + left.translation[:, 0] * ref_l < 512).all()
    with pytest.raises(NoFaceError, match="face index 5"):
        run_extraction(clip, ExtractSettings(face_index=5), cache=False)


def test_video_without_a_face(tmp_path):
    clip = write_frames(tmp_path / "flat.mp4", [np.full((128, 128, 3), (40, 90, 160), np.uint8)] * 10)
    with pytest.raises(NoFaceError, match="no face was found in any of the 10 frames"):
        run_extraction(clip, cache=False)


@pytest.mark.skipif(not hasattr(av.video.stream.VideoStream, "set_display_rotation"),
                    reason="this PyAV cannot write a display matrix")
def test_a_phone_clip_stored_sideways_tracks_as_shown(sample_frames, tmp_path):
    """A phone stores a portrait recording as landscape frames turned a quarter and a
    display matrix that turns them back. Read as stored, the face lay on its side (on
    liveportrait_d10 stored that way: roll off by 90 deg and 4 frames lost)."""
    frames = sample_frames[:12]
    upright = run_extraction(write_frames(tmp_path / "upright.mp4", frames), cache=False).track
    with av.open(str(tmp_path / "phone.mp4"), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height = frames[0].shape[:2]  # stored turned: sides swapped
        s.pix_fmt = "yuv420p"
        s.options = {"crf": "18"}
        s.set_display_rotation(90)
        for f in frames:
            stored = np.ascontiguousarray(np.rot90(f, -1))
            for pk in s.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    phone = run_extraction(tmp_path / "phone.mp4", cache=False).track
    assert phone.valid.all()
    assert np.abs(phone.euler - upright.euler).max() < 1.5, np.abs(phone.euler - upright.euler).max(0)


def test_a_small_face_in_a_wide_frame_is_found_and_tracked(sample_frames, tmp_path):
    """The sample's face (~45 % of its 512 px frame) shrunk into a 1280 x 720 frame as a
    160 px square (a face ~10 % of the height, a webcam shot): whole frames show the
    detector no face; extraction finds it in tiles and tracks it inside a window, in
    frame pixels."""
    frames = sample_frames[:12]
    wide = []
    for f in frames:
        big = np.full((720, 1280, 3), 140, np.uint8)
        big[380:540, 820:980] = cv2.resize(f, (160, 160), interpolation=cv2.INTER_AREA)
        wide.append(big)
    upright = run_extraction(write_frames(tmp_path / "close.mp4", frames), cache=False).track
    r = run_extraction(write_frames(tmp_path / "wide.mp4", wide), cache=False)
    t = r.track
    assert r.report.n_lost == 0
    x0, y0, x1, y1 = r.report.window  # the report says where it tracked: around the face
    face = t.landmarks_2d[0][:468]
    assert x0 <= face[:, 0].min() and face[:, 0].max() <= x1 and y0 <= face[:, 1].min() and face[:, 1].max() <= y1
    assert x1 - x0 < 720 / 2
    assert np.abs(t.euler - upright.euler).mean() < 2.0, np.abs(t.euler - upright.euler).mean(0)
    lm = t.landmarks_2d[0][:468]
    assert (lm[:, 0] > 820).all() and (lm[:, 0] < 980).all() and (lm[:, 1] > 380).all() and (lm[:, 1] < 540).all()


def test_a_clip_without_any_face_still_says_so(sample_frames, tmp_path):
    blank = [np.full_like(sample_frames[0], 90) for _ in range(6)]
    with pytest.raises(NoFaceError, match="no face was found"):
        run_extraction(write_frames(tmp_path / "blank.mp4", blank), cache=False)
