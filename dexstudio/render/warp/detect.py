"""Find and choose the source face: tracker call, tiny-face retry, face rule / index."""

from __future__ import annotations

import cv2
import numpy as np

from dexstudio.core.errors import NoFaceError
from dexstudio.motion.tracker import FaceObservation, FaceTracker
from dexstudio.motion.face_select import FaceRule
from dexstudio.motion.face_select import choose_face as select_face


def _dedupe(faces: list[FaceObservation]) -> list[FaceObservation]:
    out: list[FaceObservation] = []
    for f in sorted(faces, key=lambda o: -o.area):
        cx, cy = f.center
        if all(abs(cx - g.center[0]) > 0.3 * (g.bbox[2] - g.bbox[0]) or
               abs(cy - g.center[1]) > 0.3 * (g.bbox[3] - g.bbox[1]) for g in out):
            out.append(f)
    return out


#: tile sides searched for a face the whole image does not show, as fractions of its
#: longer side, each tried only when the ones before found nothing. The last three find
#: a face 4-6 % of a 12 MP photo's height (the sample pasted as a 300 / 400 px square into
#: 4000 x 3000: found in 2.2 / 1.2 s; 0.6 and 0.4 alone found neither), as in a group or
#: full-body photo; a 200 px square (a 2.7 % face) is still not found. A picture with no
#: face takes 1.8 s to say so
_TILE_FRACTIONS = (0.6, 0.4, 0.25, 0.15, 0.1)


def detect_faces(image: np.ndarray, tracker: FaceTracker, max_side: int = 1600) -> list[FaceObservation]:
    """All faces in ``image`` (H, W, 3) uint8, sorted left to right.

    Large images are analysed at ``max_side`` first; when nothing is found, overlapping
    tiles are upscaled and searched (small faces: a photo held in a hand, a crowd), and a
    found face is refined on a face-sized window at a good resolution.
    """
    H, W = image.shape[:2]
    s = min(1.0, max_side / max(H, W))
    small = cv2.resize(image, (round(W * s), round(H * s)), interpolation=cv2.INTER_AREA) if s < 1 else image
    faces = [f.moved(0, 0, s) for f in tracker.detect_image(np.ascontiguousarray(small))]
    if not faces:
        found: list[FaceObservation] = []
        for frac in _TILE_FRACTIONS:
            side = int(max(H, W) * frac)
            step = max(1, side // 2)
            for y in range(0, max(1, H - side // 2), step):
                for x in range(0, max(1, W - side // 2), step):
                    tile = image[y:y + side, x:x + side]
                    if min(tile.shape[:2]) < 32:
                        continue
                    z = 640.0 / max(tile.shape[:2])
                    big = cv2.resize(tile, (round(tile.shape[1] * z), round(tile.shape[0] * z)),
                                     interpolation=cv2.INTER_CUBIC if z > 1 else cv2.INTER_AREA)
                    found += [f.moved(x, y, z) for f in tracker.detect_image(np.ascontiguousarray(big))]
            if found:
                break
        faces = _dedupe(found)
    # refine each face on a window about 3 face sizes wide at ~ 640 px
    refined = []
    for f in faces:
        x0, y0, x1, y1 = f.bbox
        side = 3.0 * max(x1 - x0, y1 - y0)
        if side >= 0.8 * max(H, W) and s == 1.0:
            refined.append(f)
            continue
        cx, cy = f.center
        wx0, wy0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        wx1, wy1 = int(min(W, cx + side / 2)), int(min(H, cy + side / 2))
        win = image[wy0:wy1, wx0:wx1]
        z = 640.0 / max(win.shape[:2])
        big = cv2.resize(win, (round(win.shape[1] * z), round(win.shape[0] * z)),
                         interpolation=cv2.INTER_CUBIC if z > 1 else cv2.INTER_AREA)
        again = [g.moved(wx0, wy0, z) for g in tracker.detect_image(np.ascontiguousarray(big))]
        again.sort(key=lambda g: np.hypot(g.center[0] - cx, g.center[1] - cy))
        refined.append(again[0] if again and np.hypot(again[0].center[0] - cx, again[0].center[1] - cy)
                       < 0.3 * (x1 - x0) else f)
    return sorted(refined, key=lambda o: o.center[0])


def choose_face(faces: list[FaceObservation], image_shape: tuple[int, ...], face_index: int | None,
                rule: FaceRule, what: str = "the source image") -> FaceObservation:
    """Pick one face by index (left to right) or by rule; typed errors otherwise."""
    if not faces:
        raise NoFaceError(f"no face was found in {what}",
                          "use a portrait where the face is visible, frontal or turned less than "
                          "about 60 degrees, at least ~40 pixels wide and ~4 % of the picture's "
                          "height (crop a group or full-body photo around the face)")
    if face_index is not None:
        if not 0 <= face_index < len(faces):
            raise NoFaceError(f"--face-index {face_index} was asked for but {what} has "
                              f"{len(faces)} face(s)",
                              f"use a face index from 0 to {len(faces) - 1} (faces are numbered left to right)")
        return faces[face_index]
    H, W = image_shape[:2]
    return select_face(faces, (W, H), rule)
