"""A tiny synthetic talking-head dataset (for tests and smoke runs of the trainers).

Each clip is a cartoon face (skin ellipse, eyes, a mouth that opens and closes) on a
coloured background, moving by a smooth in-plane rotation, shift and scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def synthetic_frame(size: int, t: float, clip: int) -> np.ndarray:
    """(size, size, 3) uint8 frame at phase ``t`` (0..1) of clip ``clip``."""
    import cv2

    rng = np.random.default_rng(clip)
    bg = rng.integers(40, 200, 3)
    skin = rng.integers(150, 240, 3)
    img = np.empty((size, size, 3), np.uint8)
    img[:] = bg
    ang = 15 * np.sin(2 * np.pi * t + clip)
    cx = size / 2 + 0.08 * size * np.sin(2 * np.pi * t * 0.7 + clip)
    cy = size / 2 + 0.05 * size * np.cos(2 * np.pi * t * 0.9)
    s = size * (0.30 + 0.03 * np.sin(2 * np.pi * t * 1.3))
    mouth = 0.5 + 0.5 * np.sin(2 * np.pi * t * 2 + clip)

    def pt(x: float, y: float) -> tuple[int, int]:
        a = np.deg2rad(ang)
        return (int(round(cx + s * (x * np.cos(a) - y * np.sin(a)))),
                int(round(cy + s * (x * np.sin(a) + y * np.cos(a)))))

    cv2.ellipse(img, pt(0, 0), (int(s * 0.8), int(s)), ang, 0, 360, skin.tolist(), -1, cv2.LINE_AA)
    for ex in (-0.35, 0.35):
        cv2.circle(img, pt(ex, -0.25), max(1, int(s * 0.12)), (30, 30, 30), -1, cv2.LINE_AA)
    cv2.ellipse(img, pt(0, 0.45), (int(s * 0.3), max(1, int(s * 0.25 * mouth))), ang, 0, 360,
                (120, 20, 40), -1, cv2.LINE_AA)
    return img


def write_synthetic_dataset(folder: Path | str, n_clips: int = 3, n_frames: int = 16, size: int = 64,
                            fps: int = 10) -> list[Path]:
    """Write ``n_clips`` small H.264 mp4 clips into ``folder``; returns their paths."""
    import av

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for c in range(n_clips):
        path = folder / f"clip_{c:02d}.mp4"
        with av.open(str(path), "w") as out:
            st = out.add_stream("libx264", rate=fps)
            st.width = st.height = size
            st.pix_fmt = "yuv420p"
            st.options = {"crf": "12", "preset": "ultrafast"}
            for i in range(n_frames):
                frame = av.VideoFrame.from_ndarray(synthetic_frame(size, i / n_frames, c), format="rgb24")
                for pkt in st.encode(frame):
                    out.mux(pkt)
            for pkt in st.encode():
                out.mux(pkt)
        paths.append(path)
    return paths
