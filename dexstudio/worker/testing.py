"""A deterministic synthetic animator for tests and ``dexstudio bench worker``.

It draws an image that depends only on the source pixels, the rounded motion and its
settings (so cache hits are checkable by pixel equality), counts every call (so tests can
assert exactly which frames were rendered), sleeps a configurable time per frame
(``delay_s``, polling a :class:`CancelToken` every millisecond so an abandoned frame
stops early) and can simulate CUDA out-of-memory errors.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from typing import ClassVar, Optional, Sequence

import numpy as np

from dexstudio.core.errors import NoFaceError
from dexstudio.core.motion import ExpressionModel
from dexstudio.core.progress import CancelToken
from dexstudio.render.base import Animator, FrameMotion, SourceOptions, SourceState


def _cuda_oom(message: str) -> BaseException:
    try:
        import torch

        return torch.cuda.OutOfMemoryError(message)
    except ImportError:  # pragma: no cover
        return RuntimeError(f"CUDA out of memory. {message}")


class SyntheticAnimator(Animator):
    """Deterministic fake animator that counts calls.

    Args:
        delay_s: time one ``render`` (or ``render_intermediate``) takes.
        size: side of the square output crop.
        seed: a setting that changes the output (part of ``settings_key``).
        device: the device string the worker's factory passed.
        oom_devices: on these devices, ``render_batch`` with more than ``max_ok_batch``
            motions (and ``render`` when ``max_ok_batch`` is 0) raises
            ``torch.cuda.OutOfMemoryError``.
        max_ok_batch: the largest batch that fits on an ``oom_devices`` device.
        fail_yaw: ``render`` raises ``ValueError`` for motions with this yaw (degrees).
        no_face: ``prepare`` raises :class:`NoFaceError`.
        busy: spend ``delay_s`` computing (one core) instead of sleeping.
    """

    animator_id: ClassVar[str] = "synthetic"

    def __init__(self, delay_s: float = 0.0, size: int = 32, seed: int = 0, device: str = "cpu",
                 oom_devices: Sequence[str] = (), max_ok_batch: int = 0,
                 fail_yaw: Optional[float] = None, no_face: bool = False, busy: bool = False) -> None:
        self.delay_s = float(delay_s)
        self.size = int(size)
        self.seed = int(seed)
        self.device = device
        self.oom_devices = tuple(oom_devices)
        self.max_ok_batch = int(max_ok_batch)
        self.fail_yaw = fail_yaw
        self.no_face = no_face
        self.busy = busy
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.rendered: list[str] = []  # motion keys, in call order
        self.batch_sizes: list[int] = []
        self.closed = False
        self.render_threads: set[str] = set()

    # -- settings ---------------------------------------------------------------------------
    def settings_key(self) -> str:
        return f"synthetic/1|seed={self.seed}|size={self.size}"

    def _count(self, what: str, motion: Optional[FrameMotion] = None) -> None:
        with self._lock:
            self.calls[what] += 1
            if motion is not None:
                self.rendered.append(motion.key())
            self.render_threads.add(threading.current_thread().name)

    # -- Animator ---------------------------------------------------------------------------
    def prepare(self, image: np.ndarray, options: SourceOptions = SourceOptions()) -> SourceState:
        self._count("prepare")
        if self.no_face:
            raise NoFaceError("no face found in the source portrait (synthetic)",
                              "choose a portrait with a visible face")
        digest = hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()
        return SourceState(source_id=digest, image=image, own_motion=FrameMotion.neutral(),
                           payload=float(image.mean()))

    def _wait(self, seconds: float, cancel: Optional[CancelToken]) -> None:
        end = time.perf_counter() + seconds
        while True:
            if cancel is not None:
                cancel.raise_if_cancelled()
            left = end - time.perf_counter()
            if left <= 0:
                return
            if self.busy:
                slice_end = min(end, time.perf_counter() + 0.001)
                a = np.ones(4096)
                while time.perf_counter() < slice_end:
                    a = np.sqrt(a + 1.0)
            else:
                time.sleep(min(left, 0.001))

    def _check(self, motion: FrameMotion, batch: int) -> None:
        if self.device in self.oom_devices and batch > self.max_ok_batch:
            self._count("oom")
            raise _cuda_oom(f"synthetic: a batch of {batch} does not fit on {self.device}")
        if self.fail_yaw is not None and abs(motion.euler[0] - self.fail_yaw) < 1e-9:
            raise ValueError(f"synthetic failure at yaw {self.fail_yaw}")

    def _pixels(self, state: SourceState, motion_key: str) -> np.ndarray:
        h = hashlib.sha256(f"{state.source_id}|{motion_key}|{self.seed}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(h[:8], "little"))
        return rng.integers(0, 256, size=(self.size, self.size, 3), dtype=np.uint8)

    def render(self, state: SourceState, motion: FrameMotion,
               expression_model: Optional[ExpressionModel] = None,
               cancel: Optional[CancelToken] = None) -> np.ndarray:
        self._check(motion, 1)
        self._count("render", motion)
        self._wait(self.delay_s, cancel)
        return self._pixels(state, motion.key())

    def render_frame(self, state: SourceState, motion: FrameMotion,
                     expression_model: Optional[ExpressionModel] = None) -> np.ndarray:
        """Paste-back protocol: the crop (what ``paste_back`` consumes)."""
        return self.render(state, motion, expression_model)

    def paste_back(self, state: SourceState, frame: np.ndarray) -> np.ndarray:
        """Paste-back protocol: the crop written into the top-left corner of the source."""
        out = np.array(state.image, copy=True)
        h, w = min(out.shape[0], frame.shape[0]), min(out.shape[1], frame.shape[1])
        out[:h, :w] = frame[:h, :w]
        return out

    def render_batch(self, state: SourceState, motions: Sequence[FrameMotion],
                     expression_model: Optional[ExpressionModel] = None,
                     cancel: Optional[CancelToken] = None) -> list[np.ndarray]:
        """Optional batched render (the worker uses it for background fills)."""
        for m in motions:
            self._check(m, len(motions))
        with self._lock:
            self.batch_sizes.append(len(motions))
        for m in motions:
            self._count("render", m)
        self._wait(self.delay_s * len(motions), cancel)
        return [self._pixels(state, m.key()) for m in motions]

    def close(self) -> None:
        self.closed = True


class SyntheticLatentAnimator(SyntheticAnimator):
    """Like :class:`SyntheticAnimator`, with an intermediate (a fake "denoised latent").

    ``gain`` is a decode-only setting: it is in ``settings_key`` but not in
    ``intermediate_settings_key``, so changing it re-decodes without re-denoising.
    """

    animator_id: ClassVar[str] = "synthetic-latent"
    has_intermediate: ClassVar[bool] = True

    def __init__(self, *args: object, gain: float = 1.0, decode_delay_s: float = 0.0,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gain = float(gain)
        self.decode_delay_s = float(decode_delay_s)

    def intermediate_settings_key(self) -> str:
        return f"synthetic-latent/1|seed={self.seed}|size={self.size}"

    def settings_key(self) -> str:
        return f"{self.intermediate_settings_key()}|gain={self.gain}"

    def render_intermediate(self, state: SourceState, motion: FrameMotion,
                            expression_model: Optional[ExpressionModel] = None,
                            cancel: Optional[CancelToken] = None) -> np.ndarray:
        self._check(motion, 1)
        self._count("render_intermediate", motion)
        self._wait(self.delay_s, cancel)
        return self._pixels(state, motion.key()).astype(np.float16) / np.float16(255.0)

    def decode(self, state: SourceState, intermediate: np.ndarray) -> np.ndarray:
        self._count("decode")
        self._wait(self.decode_delay_s, None)
        return np.clip(intermediate.astype(np.float32) * 255.0 * self.gain, 0, 255).astype(np.uint8)

    def render(self, state: SourceState, motion: FrameMotion,
               expression_model: Optional[ExpressionModel] = None,
               cancel: Optional[CancelToken] = None) -> np.ndarray:
        return self.decode(state, self.render_intermediate(state, motion, expression_model, cancel))
