"""The warp animator: a 3D face mesh fitted to the source, moved by the edited pose and
expression, and a dense image warp that follows it (no learned weights; real time on a CPU).

Modules: :mod:`topology` (mesh and named triangle sets), :mod:`crop` (working crop),
:mod:`basis` (generic expression basis), :mod:`warp_field` (dense backward maps),
:mod:`eyes`, :mod:`mouth`, :mod:`paste_back`, :mod:`animator` (:class:`WarpAnimator`).
"""

from dexstudio.render.warp.animator import WarpAnimator, WarpSettings

__all__ = ["WarpAnimator", "WarpSettings"]
