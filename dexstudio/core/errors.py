"""Typed errors a user can cause. Every one carries a message that says what to do.

The CLI prints ``str(error)`` (message + hint) without a traceback; the UI shows it in
a dialog. Nothing that raises one of these may have destroyed user data.
"""

from __future__ import annotations


class DexStudioError(Exception):
    """Base of all user-facing errors.

    Args:
        message: what went wrong, in the user's terms (names the file or setting).
        hint: what the user can do about it.
    """

    exit_code: int = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message


class MediaError(DexStudioError):
    """A media file (image, video, audio) cannot be used."""


class UnreadableFileError(MediaError):
    """The path does not exist, is a folder, or cannot be opened (permissions)."""


class NotAVideoError(MediaError):
    """The file opens but holds no decodable video stream."""


class CorruptVideoError(MediaError):
    """The video is truncated or damaged so that too few frames decode."""


class NotAnImageError(MediaError):
    """The file is not a readable still image."""


class NoFaceError(DexStudioError):
    """No face was found where one is required."""


class ModelNotFoundError(DexStudioError):
    """A model file (tracker model, checkpoint) is missing or does not verify."""


class CheckpointError(DexStudioError):
    """A checkpoint exists but does not match the expected architecture or version."""


class ProjectFileError(DexStudioError):
    """A project file is corrupt, truncated, of a wrong type or of a newer version."""


class OutputError(DexStudioError):
    """The output location cannot be written (read-only folder, full disk)."""


class Cancelled(DexStudioError):
    """A long operation was cancelled by the user. Nothing partial was left behind."""

    exit_code = 130


class ChannelLockedError(DexStudioError):
    """An edit targets a locked channel (or a channel of a locked group)."""
