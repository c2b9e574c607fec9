"""Regenerate the bundled samples in resources/samples/ (reproducible, deterministic).

* ``astronaut.png``: scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain),
  512x512 RGB, taken from the scikit-image wheel.
* ``astronaut_driving.mp4``: a 3 s, 30 fps, 512x512 H.264 clip made from it by in-plane
  rotation (+-15 deg), scaling (1.0..1.15) and shifts, with a quiet 220 Hz AAC tone so
  export tests have audio to keep. It has no expression change (a still photo moves).

Run: ``python resources/scripts/make_samples.py`` (needs scikit-image, opencv, av).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data

OUT = Path(__file__).resolve().parents[1] / "samples"
FPS = 30
N = 90


def transform(t: float) -> tuple[float, float, float, float]:
    """(angle deg, scale, dx px, dy px) at time fraction t in 0..1."""
    angle = 15.0 * np.sin(2 * np.pi * t)
    scale = 1.0 + 0.15 * np.sin(np.pi * t) ** 2
    dx = 20.0 * np.sin(4 * np.pi * t)
    dy = 10.0 * np.sin(2 * np.pi * t + 0.5)
    return angle, scale, dx, dy


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    img = data.astronaut()  # (512, 512, 3) uint8 RGB
    cv2.imwrite(str(OUT / "astronaut.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    h, w = img.shape[:2]
    # face centre of the astronaut image (about x=225, y=125), rotate around it
    cx, cy = 225.0, 130.0
    path = OUT / "astronaut_driving.mp4"
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"crf": "26", "preset": "medium"}
        a = c.add_stream("aac", rate=44100)
        a.layout = "mono"
        for i in range(N):
            ang, sc, dx, dy = transform(i / (N - 1))
            M = cv2.getRotationMatrix2D((cx, cy), ang, sc)
            M[:, 2] += (dx, dy)
            frame = cv2.warpAffine(img, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            for p in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        samples = int(44100 * N / FPS)
        tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(samples) / 44100)).astype(np.float32)
        for s0 in range(0, samples, 1024):
            chunk = tone[None, s0:s0 + 1024]
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            af.sample_rate = 44100
            af.pts = s0
            af.time_base = Fraction(1, 44100)
            for p in a.encode(af):
                c.mux(p)
        for s in (vs, a):
            for p in s.encode(None):
                c.mux(p)
    print(f"wrote {OUT / 'astronaut.png'} and {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
