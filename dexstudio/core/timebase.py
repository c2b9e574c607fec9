"""Exact time: integer frames at a rational frame rate. Never accumulate float time."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, order=True)
class FrameRate:
    """A rational frame rate, e.g. ``FrameRate(30000, 1001)`` for 29.97 fps."""

    num: int
    den: int = 1

    def __post_init__(self) -> None:
        if self.num <= 0 or self.den <= 0:
            raise ValueError(f"frame rate must be positive, got {self.num}/{self.den}")
        f = Fraction(self.num, self.den)
        object.__setattr__(self, "num", f.numerator)
        object.__setattr__(self, "den", f.denominator)

    @classmethod
    def from_float(cls, fps: float, max_den: int = 1001) -> "FrameRate":
        """Closest rational with a denominator <= ``max_den`` (29.97 -> 30000/1001)."""
        for common in (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)):
            if abs(float(common) - fps) < 1e-3:
                return cls(common.numerator, common.denominator)
        f = Fraction(fps).limit_denominator(max_den)
        return cls(f.numerator, f.denominator)

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    @property
    def fps(self) -> float:
        return self.num / self.den

    def frame_to_seconds(self, frame: int) -> Fraction:
        """Exact time of the start of ``frame``."""
        return Fraction(frame * self.den, self.num)

    def seconds_to_frame(self, seconds: float | Fraction) -> int:
        """The frame showing at ``seconds`` (floor)."""
        return int(Fraction(seconds) * self.fraction // 1)

    def timecode(self, frame: int) -> str:
        """Non-drop timecode ``HH:MM:SS:FF`` with the nominal integer rate (29.97 -> 30)."""
        nominal = max(1, round(self.fps))
        sign = "-" if frame < 0 else ""
        frame = abs(frame)
        ff = frame % nominal
        total_s = frame // nominal
        return f"{sign}{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}:{ff:02d}"

    def __str__(self) -> str:
        return f"{self.num}/{self.den}" if self.den != 1 else str(self.num)


@dataclass(frozen=True)
class FrameRange:
    """Half-open frame range ``[start, stop)``."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if self.stop < self.start:
            raise ValueError(f"empty-negative frame range {self.start}:{self.stop}")

    def __len__(self) -> int:
        return self.stop - self.start

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop

    def clamp(self, frame: int) -> int:
        return min(max(frame, self.start), self.stop - 1)

    def intersect(self, other: "FrameRange") -> "FrameRange":
        lo, hi = max(self.start, other.start), min(self.stop, other.stop)
        return FrameRange(lo, max(lo, hi))

    @classmethod
    def parse(cls, text: str) -> "FrameRange":
        """Parse ``A:B`` (B exclusive)."""
        try:
            a, b = text.split(":")
            return cls(int(a), int(b))
        except ValueError:
            raise ValueError(f"frame range {text!r} is not of the form START:STOP, e.g. 0:120") from None
