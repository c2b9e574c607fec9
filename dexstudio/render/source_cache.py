"""Per-source state cache: prepared :class:`SourceState` keyed by image content + options.

Preparing a source (face detection, pose, mesh, warp operators) takes a few hundred
milliseconds; the editor asks for the same source again and again. The key is the
sha256 of the pixels (shape + bytes), the :class:`SourceOptions` and the animator's
``settings_key()``, so an edited or re-loaded file with the same pixels hits.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np

from dexstudio.core.hashing import array_content_hash
from dexstudio.render.base import Animator, SourceOptions, SourceState


def image_content_hash(image: np.ndarray) -> str:
    """sha256 hex of an image's dtype, shape and pixel bytes (see core.hashing)."""
    return array_content_hash(image)


def source_key(image: np.ndarray, options: SourceOptions, animator: Animator) -> str:
    """Cache key of (pixels, options, animator settings)."""
    h = hashlib.sha256()
    h.update(image_content_hash(image).encode())
    h.update(repr((options.face_index, options.face_rule.value, options.crop_size)).encode())
    h.update(animator.animator_id.encode())
    h.update(animator.settings_key().encode())
    return h.hexdigest()


class SourceCache:
    """A small thread-safe LRU of prepared sources.

    Args:
        max_entries: how many prepared sources to keep (each holds the full-resolution
            image plus per-source operators: a few to tens of MB).
    """

    def __init__(self, max_entries: int = 4) -> None:
        self.max_entries = max(1, int(max_entries))
        self._items: OrderedDict[str, SourceState] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_prepare(self, animator: Animator, image: np.ndarray,
                       options: SourceOptions = SourceOptions()) -> SourceState:
        """The cached state for ``image`` or a freshly prepared one (then cached)."""
        key = source_key(image, options, animator)
        with self._lock:
            state = self._items.get(key)
            if state is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return state
        state = animator.prepare(image, options)
        with self._lock:
            self.misses += 1
            self._items[key] = state
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return state

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
