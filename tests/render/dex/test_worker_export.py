"""The DeX animator renders a clip through the same worker + export path as the warp
animator; source latents are computed once per source (acceptance 4)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from dexstudio.core.commands import add_take, set_render, set_source
from dexstudio.core.document import Document
from dexstudio.core.project import AnimatorKind, RenderSettings, SourceInfo
from dexstudio.core.synthetic import synthetic_track
from dexstudio.core.take import Take
from dexstudio.core.undo import UndoStack
from dexstudio.io.image import save_image
from dexstudio.io.project_file import load_project, save_project
from dexstudio.render.dex.animator import DexAnimator
from dexstudio.render.dex.checkpoint import save_pretrained
from dexstudio.render.dex.face import centered_analysis
from dexstudio.worker import WorkerConfig
from dexstudio.worker.project_render import render_project
from dexstudio.worker.request import OutputOptions

N = 6


def _project(tmp_path: Path, source: Path, render: RenderSettings) -> Path:
    doc = Document()
    stack = UndoStack(doc)
    stack.push(add_take(doc, Take.from_motion(synthetic_track(N, seed=2), "drive")))
    stack.push(set_source(doc, SourceInfo(path=str(source))))
    stack.push(set_render(doc, render))
    path = tmp_path / "dex.dexproj"
    save_project(doc, path)
    return path


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _config(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(cache_dir=tmp_path / "cache", cpu_threads=1, memory_cache_bytes=16 << 20,
                        disk_cache_bytes=32 << 20)


def test_dex_renders_a_clip_through_worker_and_exporter(tmp_path, tiny_model) -> None:
    source = tmp_path / "portrait.png"
    save_image(source, np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8))
    project = _project(tmp_path, source, RenderSettings(animator=AnimatorKind.DEX, crop_size=64, steps=2))
    calls = {"encode": 0, "reference": 0}
    enc = tiny_model.vae.encode

    def counting(*a, **k):
        calls["encode"] += 1
        return enc(*a, **k)

    tiny_model.vae.encode = counting
    tiny_model.reference_unet.register_forward_hook(lambda *_: calls.__setitem__("reference", calls["reference"] + 1))
    made: list[DexAnimator] = []

    def factory(device: str) -> DexAnimator:
        a = DexAnimator(model=tiny_model, face_analyzer=centered_analysis, device=device, num_inference_steps=2)
        made.append(a)
        return a

    out = tmp_path / "dex.mp4"
    summary = render_project(load_project(project), out, config=_config(tmp_path), animator_factory=factory,
                             output_options=OutputOptions(size=64))
    frames = _frames(out)
    assert summary.frames == N and len(frames) == N and frames[0].shape == (64, 64, 3)
    assert calls == {"encode": 1, "reference": 1}  # the source latents: once per source
    assert summary.stats.misses == N and summary.stats.hits == 0
    # a second export is served from the worker's cache: no animator work at all
    out2 = tmp_path / "again.mp4"
    s2 = render_project(load_project(project), out2, config=_config(tmp_path), animator_factory=factory,
                        output_options=OutputOptions(size=64))
    assert s2.stats.hits == N and len(_frames(out2)) == N


def test_paste_back_puts_the_crop_where_it_came_from(tiny_model) -> None:
    anim = DexAnimator(model=tiny_model, face_analyzer=centered_analysis, device="cpu")
    img = np.zeros((40, 60, 3), np.uint8)
    st = anim.prepare(img)
    crop = np.full((64, 64, 3), 200, np.uint8)
    out = anim.paste_back(st, crop)
    assert out.shape == (40, 60, 3)
    assert out[20, 30].tolist() == [200, 200, 200]  # centre of the crop box
    assert out[20, 2].tolist() == [0, 0, 0]  # outside the centred 40x40 box


def test_project_settings_select_a_dex_checkpoint_with_the_real_face_analyzer(tmp_path, tiny_model,
                                                                              sample_portrait) -> None:
    ckpt = save_pretrained(tiny_model, tmp_path / "ckpt")
    project = _project(tmp_path, sample_portrait,
                       RenderSettings(animator=AnimatorKind.DEX, crop_size=64, checkpoint=str(ckpt), steps=2))
    out = tmp_path / "dex.mp4"
    summary = render_project(load_project(project), out, config=_config(tmp_path))
    assert summary.frames == N and _frames(out)[0].shape == (64, 64, 3)
