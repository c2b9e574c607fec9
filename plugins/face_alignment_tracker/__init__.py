"""Optional tracker plugin: the ``face-alignment`` package's 68-point FAN landmarks.

Declared by ``plugin.json`` (read with :func:`load_manifest`). The tracker works only
when face-alignment is installed and its weights are already in
``$TORCH_HOME/hub/checkpoints``; it never downloads. It gives head pose (2D fit against
the 68-point subset of the canonical face); expression channels stay neutral.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_PATH = Path(__file__).with_name("plugin.json")


@dataclass(frozen=True)
class PluginManifest:
    """The plugin's declaration (``plugin.json``)."""

    name: str
    kind: str
    version: str
    entry: str
    tracker_id: str
    requires: tuple[str, ...]
    weights: tuple[str, ...]
    weights_dir: str
    description: str


def load_manifest(path: Path = MANIFEST_PATH) -> PluginManifest:
    d = json.loads(path.read_text(encoding="utf-8"))
    return PluginManifest(name=d["name"], kind=d["kind"], version=d["version"], entry=d["entry"],
                          tracker_id=d["tracker_id"], requires=tuple(d["requires"]),
                          weights=tuple(d["weights"]), weights_dir=d["weights_dir"],
                          description=d["description"])


PLUGIN = load_manifest()
