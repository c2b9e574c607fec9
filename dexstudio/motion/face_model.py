"""MediaPipe's canonical 3D face (468 vertices, 898 triangles), shipped as resource data.

The arrays were extracted from the FaceLandmarker ``.task`` bundle by
``resources/scripts/extract_face_model.py`` into ``resources/face_model/canonical_face.npz``.

Canonical frame = the camera frame of :mod:`dexstudio.core.rotation` for a face looking
into the camera: X toward image right (the subject's left), Y up, Z toward the viewer
(the nose tip has the largest Z). Units are MediaPipe's (about centimetres).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dexstudio.core.errors import ModelNotFoundError
from dexstudio.motion import landmark_sets as ls
from dexstudio.core.resources import resource_path

FACE_MODEL_PATH = resource_path("face_model", "canonical_face.npz")


@dataclass(frozen=True, eq=False)
class CanonicalFace:
    """The canonical face mesh.

    Attributes:
        vertices: (468, 3) float32, canonical units (X right, Y up, Z to viewer).
        uv: (468, 2) float32 texture coordinates in 0..1 (v down).
        triangles: (898, 3) int32 vertex indices.
        procrustes_ids: (33,) int32 landmark ids MediaPipe uses for its pose fit.
        procrustes_weights: (33,) float32 their weights.
    """

    vertices: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    procrustes_ids: np.ndarray
    procrustes_weights: np.ndarray

    @property
    def face_size(self) -> float:
        """Face size in canonical units: forehead top (10) to chin (152) distance.

        The reference length of DeX Studio: ``pose.tx/ty`` are in fractions of it (in
        pixels: ``scale * face_size``) and the 1% expression-reconstruction tolerance
        is relative to it.
        """
        return float(np.linalg.norm(self.vertices[ls.FOREHEAD_TOP] - self.vertices[ls.CHIN]))

    @property
    def centre(self) -> np.ndarray:
        """(3,) Procrustes-weighted centroid of the mesh (the pose origin)."""
        w = self.procrustes_weights.astype(np.float64)
        return (self.vertices[self.procrustes_ids].astype(np.float64) * w[:, None]).sum(0) / w.sum()


@functools.lru_cache(maxsize=2)
def load_canonical_face(path: Path | None = None) -> CanonicalFace:
    """Load (once, cached) the canonical face from ``path`` (default: the shipped npz)."""
    p = Path(path) if path is not None else FACE_MODEL_PATH
    if not p.is_file():
        raise ModelNotFoundError(
            f"the canonical face model {p} is missing",
            "reinstall DeX Studio or regenerate it with "
            "`python resources/scripts/extract_face_model.py`")
    with np.load(p) as d:
        arrays = {k: d[k] for k in ("vertices", "uv", "triangles", "procrustes_ids", "procrustes_weights")}
    for a in arrays.values():
        a.setflags(write=False)
    return CanonicalFace(
        vertices=arrays["vertices"].astype(np.float32, copy=False),
        uv=arrays["uv"].astype(np.float32, copy=False),
        triangles=arrays["triangles"].astype(np.int32, copy=False),
        procrustes_ids=arrays["procrustes_ids"].astype(np.int32, copy=False),
        procrustes_weights=arrays["procrustes_weights"].astype(np.float32, copy=False),
    )
