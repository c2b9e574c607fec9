"""Mesh topology of the warp: the canonical face triangles and the named triangle sets.

The canonical MediaPipe triangulation covers the whole face *including* the mouth
opening and the eye openings (one boundary loop: the face oval). The warp treats those
opening triangles specially (mouth interior, eyeballs), so they are identified here once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from dexstudio.motion import landmark_sets as ls
from dexstudio.motion.face_model import CanonicalFace, load_canonical_face


@dataclass(frozen=True, eq=False)
class FaceTopology:
    """Triangles of the face mesh and which of them fill the openings.

    Attributes:
        triangles: (T, 3) int32 vertex ids into the 468 mesh points (T = 898).
        mouth_tris: (T,) bool, triangles inside the inner-lip loop (the mouth opening).
        right_eye_tris, left_eye_tris: (T,) bool, triangles inside each eye contour.
        oval: (36,) int32 face-outline loop.
    """

    triangles: np.ndarray
    mouth_tris: np.ndarray
    right_eye_tris: np.ndarray
    left_eye_tris: np.ndarray
    oval: np.ndarray

    @property
    def eye_tris(self) -> np.ndarray:
        return self.right_eye_tris | self.left_eye_tris

    @property
    def tri_kind(self) -> np.ndarray:
        """(T,) int8: 0 skin, 1 mouth opening, 2 right eye opening, 3 left eye opening."""
        k = np.zeros(len(self.triangles), np.int8)
        k[self.mouth_tris] = 1
        k[self.right_eye_tris] = 2
        k[self.left_eye_tris] = 3
        return k


def _inside(triangles: np.ndarray, loop: tuple[int, ...]) -> np.ndarray:
    return np.all(np.isin(triangles, np.asarray(loop)), axis=1)


@functools.lru_cache(maxsize=1)
def face_topology(face: CanonicalFace | None = None) -> FaceTopology:
    """The topology of the canonical face (cached)."""
    f = face if face is not None else load_canonical_face()
    t = np.asarray(f.triangles, np.int32)
    return FaceTopology(
        triangles=t,
        mouth_tris=_inside(t, ls.LIPS_INNER),
        right_eye_tris=_inside(t, ls.RIGHT_EYE),
        left_eye_tris=_inside(t, ls.LEFT_EYE),
        oval=np.asarray(ls.FACE_OVAL, np.int32),
    )
