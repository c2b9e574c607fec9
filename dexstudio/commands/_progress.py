"""The one text progress bar of the command line (stderr, redrawn in place)."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

from dexstudio.core.progress import Progress


class TextProgressBar:
    """A one-line progress bar, usable as a :data:`dexstudio.core.progress.ProgressCallback`.

    Args:
        label: printed before the stage name ("" for none).
        stream: where to draw; None = ``sys.stderr`` at call time (so captured streams work).
        enabled: None = only when the stream is a terminal; True/False forces it.
        width: bar width in characters.
    """

    def __init__(self, label: str = "", stream: Optional[TextIO] = None,
                 enabled: Optional[bool] = None, width: int = 30) -> None:
        self.label = f"{label} " if label else ""
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.width = width
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._stage = ""
        self._drawn = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and p.stage == self._stage and (p.total is None or p.done < p.total):
            return
        self._last, self._stage = now, p.stage
        if p.fraction is None:
            line = f"{self.label}{p.stage:<20} {p.done}"
        else:
            fill = int(p.fraction * self.width)
            rate = p.done / max(now - self._t0, 1e-6)
            line = (f"{self.label}{p.stage:<20} [{'#' * fill}{'.' * (self.width - fill)}] "
                    f"{p.done}/{p.total} {rate:6.1f}/s")
        self.stream.write("\r" + line)
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line (if one was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
