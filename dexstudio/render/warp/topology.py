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


#: Upper-lid loops of the mesh (MediaPipe's face-mesh annotations), outer -> inner corner:
#: the lid margin (with the corners), the loop above it, and the crease loop.
RIGHT_LID_MARGIN: tuple[int, ...] = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LID_UPPER1: tuple[int, ...] = (247, 30, 29, 27, 28, 56, 190)
RIGHT_LID_CREASE: tuple[int, ...] = (113, 225, 224, 223, 222, 221, 189)
LEFT_LID_MARGIN: tuple[int, ...] = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LID_UPPER1: tuple[int, ...] = (467, 260, 259, 257, 258, 286, 414)
LEFT_LID_CREASE: tuple[int, ...] = (342, 445, 444, 443, 442, 441, 413)


@dataclass(frozen=True, eq=False)
class FaceTopology:
    """Triangles of the face mesh and which of them fill the openings.

    Attributes:
        triangles: (T, 3) int32 vertex ids into the 468 mesh points (T = 898).
        mouth_tris: (T,) bool, triangles inside the inner-lip loop (the mouth opening).
        right_eye_tris, left_eye_tris: (T,) bool, triangles inside each eye contour.
        right_lid_tris, left_lid_tris: (T,) bool, upper-lid band triangles (between the
            lid margin and the crease loop above it).
        oval: (36,) int32 face-outline loop.
        inner_ring: (M,) int32 vertices sharing a triangle with the outline (the row just
            inside it): with the outline, they pin the outer field's slope at the face edge.
    """

    triangles: np.ndarray
    mouth_tris: np.ndarray
    right_eye_tris: np.ndarray
    left_eye_tris: np.ndarray
    right_lid_tris: np.ndarray
    left_lid_tris: np.ndarray
    oval: np.ndarray
    inner_ring: np.ndarray

    @property
    def eye_tris(self) -> np.ndarray:
        return self.right_eye_tris | self.left_eye_tris

    @property
    def tri_kind(self) -> np.ndarray:
        """(T,) int8: 0 skin, 1 mouth opening, 2 right eye opening, 3 left eye opening,
        4 right upper lid, 5 left upper lid."""
        k = np.zeros(len(self.triangles), np.int8)
        k[self.right_lid_tris] = 4
        k[self.left_lid_tris] = 5
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
    oval = set(ls.FACE_OVAL)
    inner = sorted({int(v) for tri in t if any(int(u) in oval for u in tri) for v in tri if int(v) not in oval})
    return FaceTopology(
        triangles=t,
        mouth_tris=_inside(t, ls.LIPS_INNER),
        right_eye_tris=_inside(t, ls.RIGHT_EYE),
        left_eye_tris=_inside(t, ls.LEFT_EYE),
        right_lid_tris=_inside(t, RIGHT_LID_MARGIN + RIGHT_LID_UPPER1 + RIGHT_LID_CREASE) & ~_inside(t, ls.RIGHT_EYE),
        left_lid_tris=_inside(t, LEFT_LID_MARGIN + LEFT_LID_UPPER1 + LEFT_LID_CREASE) & ~_inside(t, ls.LEFT_EYE),
        oval=np.asarray(ls.FACE_OVAL, np.int32),
        inner_ring=np.asarray(inner, np.int32),
    )
