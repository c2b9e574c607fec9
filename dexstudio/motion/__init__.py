"""Face tracking, pose solving and expression encoding of driving footage -> core motion.

Modules (one job each):

* :mod:`~dexstudio.motion.landmark_sets` -- named landmark index sets (no magic indices elsewhere).
* :mod:`~dexstudio.motion.face_model` -- the canonical 3D face (468 vertices, 898 triangles).
* :mod:`~dexstudio.motion.tracker` -- ``FaceTracker`` interface, ``MediaPipeTracker``, model location.
* :mod:`~dexstudio.motion.pose` -- weighted Procrustes pose (3D) and 2D (68-point) pose fits.
* :mod:`~dexstudio.motion.face_select` -- choosing a face and following it across frames.
* :mod:`~dexstudio.motion.expression` -- streaming per-clip expression model fit.
* :mod:`~dexstudio.motion.extract` -- the extraction pipeline, cache, report.
* :mod:`~dexstudio.motion.smoothing` -- optional One-Euro smoothing of a track.
"""
