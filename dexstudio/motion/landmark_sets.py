"""Named index sets of the MediaPipe 478-point face mesh (the only place indices live).

"Left"/"right" are the *subject's* sides (MediaPipe's convention): the subject's left
eye appears on the image's right in an unmirrored frame and has +X in the canonical
face. Contours are ordered loops (first index not repeated at the end) unless noted.
Indices 0..467 are mesh vertices (the canonical face); 468..477 are the iris points
(tracked only, absent from the canonical face).
"""

from __future__ import annotations

N_MESH = 468
N_TRACKED = 478

# --- lips -------------------------------------------------------------------------
#: Outer lip contour, closed loop starting at the right mouth corner (61).
LIPS_OUTER: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291,
    409, 270, 269, 267, 0, 37, 39, 40, 185,
)
#: Inner lip contour (the mouth opening), closed loop starting at the right inner corner (78).
LIPS_INNER: tuple[int, ...] = (
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308,
    415, 310, 311, 312, 13, 82, 81, 80, 191,
)
MOUTH_CORNER_RIGHT = 61
MOUTH_CORNER_LEFT = 291
UPPER_LIP_INNER_MID = 13
LOWER_LIP_INNER_MID = 14

# --- eyes (subject's sides) ------------------------------------------------------
#: Subject's right eye contour, loop: outer corner 33, lower lid, inner corner 133, upper lid.
RIGHT_EYE: tuple[int, ...] = (
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
)
#: Subject's left eye contour, loop: outer corner 263, lower lid, inner corner 362, upper lid.
LEFT_EYE: tuple[int, ...] = (
    263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466,
)
RIGHT_EYE_OUTER = 33
RIGHT_EYE_INNER = 133
LEFT_EYE_OUTER = 263
LEFT_EYE_INNER = 362
RIGHT_EYE_UPPER_LID = 159
RIGHT_EYE_LOWER_LID = 145
LEFT_EYE_UPPER_LID = 386
LEFT_EYE_LOWER_LID = 374

# --- irises (tracked points 468..477) -----------------------------------------------
RIGHT_IRIS_CENTER = 468
RIGHT_IRIS: tuple[int, ...] = (469, 470, 471, 472)
LEFT_IRIS_CENTER = 473
LEFT_IRIS: tuple[int, ...] = (474, 475, 476, 477)
IRISES: tuple[int, ...] = tuple(range(468, 478))
#: each eye's iris centre, iris ring and eye contour: (right, left)
EYE_IRISES: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = (
    (RIGHT_IRIS_CENTER, RIGHT_IRIS, RIGHT_EYE),
    (LEFT_IRIS_CENTER, LEFT_IRIS, LEFT_EYE),
)

# --- brows -----------------------------------------------------------------------
#: Subject's right brow: lower edge (outer->inner) then upper edge (outer->inner); open paths.
RIGHT_BROW: tuple[int, ...] = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW: tuple[int, ...] = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)

# --- face oval, nose -------------------------------------------------------------------
#: Face outline, loop starting at the forehead top (10), going toward the subject's left.
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
#: Nose bridge to tip to base (open path) followed by the nostril outline.
NOSE: tuple[int, ...] = (
    168, 6, 197, 195, 5, 4, 1, 19, 94, 2,
    98, 97, 326, 327, 294, 278, 344, 440, 275, 45, 220, 115, 48, 64,
)
NOSE_TIP = 1
FOREHEAD_TOP = 10
CHIN = 152

#: The 68-point (iBUG 300-W / face-alignment) layout expressed as MediaPipe mesh
#: indices: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67. An
#: approximation (the two layouts are defined differently) good for pose fitting.
IBUG68_TO_MESH: tuple[int, ...] = (
    # jaw, image-left (subject's right) to image-right
    127, 234, 93, 132, 58, 172, 136, 150, 152, 379, 365, 397, 288, 361, 323, 454, 356,
    # right brow (17-21), left brow (22-26)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge (27-30), nostrils (31-35)
    168, 197, 5, 4, 98, 97, 2, 326, 327,
    # right eye (36-41): outer, upper x2, inner, lower x2
    33, 160, 158, 133, 153, 144,
    # left eye (42-47): inner, upper x2, outer, lower x2
    362, 385, 387, 263, 373, 380,
    # outer mouth (48-59)
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    # inner mouth (60-67)
    78, 82, 13, 312, 308, 317, 14, 87,
)
