"""The channel tree: groups (Pose, Eyes, ... Detail) with their channels, the current
value, and mute / solo / lock / freeze toggles per channel and per group.

It reads the document on every refresh and sends each toggle as a command through
the session; it keeps no state of its own but the Qt items.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from dexstudio.core.channels import ALL_CHANNEL_IDS, CHANNEL_SPECS, ChannelGroup, ChannelUnit, channels_in_group
from dexstudio.ui.session import EditorSession
from dexstudio.ui.theme import icon

COL_NAME, COL_VALUE, COL_MUTE, COL_SOLO, COL_LOCK, COL_FREEZE = range(6)
FLAG_COLUMNS = {COL_MUTE: "mute", COL_SOLO: "solo", COL_LOCK: "lock", COL_FREEZE: "freeze"}
ROLE_ID = Qt.ItemDataRole.UserRole
ROLE_GROUP = Qt.ItemDataRole.UserRole + 1


def format_value(cid: str, v: float) -> str:
    unit = CHANNEL_SPECS[cid].unit
    if unit is ChannelUnit.DEGREES:
        return f"{v:+.1f}°"
    if unit is ChannelUnit.RATIO:
        return f"{v:.3f}x"
    return f"{v:+.3f}" if unit in (ChannelUnit.FACE_FRACTION, ChannelUnit.LATENT) else f"{v:.2f}"


class ChannelTree(QTreeWidget):
    """Channel tree bound to an :class:`EditorSession`."""

    def __init__(self, session: EditorSession, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setColumnCount(6)
        self.setHeaderLabels(["Channel", "Value", "", "", "", ""])
        hdr = self.header()
        hdr.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        hdr.setSectionResizeMode(COL_VALUE, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(COL_VALUE, 62)
        hdr.setStretchLastSection(False)
        for col, (name, tip) in {COL_MUTE: ("mute", "Mute: the channel holds the portrait's own value"),
                                 COL_SOLO: ("solo", "Solo: only soloed channels move"),
                                 COL_LOCK: ("lock", "Lock: no edits to the channel"),
                                 COL_FREEZE: ("freeze", "Freeze: hold the value at the playhead frame")}.items():
            hdr.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(col, 26)
            self.headerItem().setIcon(col, icon(name))
            self.headerItem().setToolTip(col, tip)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setMinimumWidth(300)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._groups: dict[ChannelGroup, QTreeWidgetItem] = {}
        self._refreshing = False
        for g in ChannelGroup:
            gi = QTreeWidgetItem(self, [g.value])
            gi.setData(COL_NAME, ROLE_GROUP, g.name)
            f = gi.font(COL_NAME)
            f.setBold(True)
            gi.setFont(COL_NAME, f)
            gi.setFlags(gi.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            for col in FLAG_COLUMNS:
                gi.setCheckState(col, Qt.CheckState.Unchecked)
            self._groups[g] = gi
            for cid in channels_in_group(g):
                it = QTreeWidgetItem(gi, [CHANNEL_SPECS[cid].display_name, ""])
                it.setData(COL_NAME, ROLE_ID, cid)
                it.setToolTip(COL_NAME, cid)
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                it.setTextAlignment(COL_VALUE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                for col in FLAG_COLUMNS:
                    it.setCheckState(col, Qt.CheckState.Unchecked)
                self._items[cid] = it
        self._groups[ChannelGroup.POSE].setExpanded(True)
        self._groups[ChannelGroup.MOUTH].setExpanded(True)
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_selection)
        session.documentChanged.connect(self.on_document_changed)
        session.documentReplaced.connect(self.refresh)
        session.playheadChanged.connect(self.on_playhead)
        session.channelSelectionChanged.connect(self._on_session_selection)
        self.refresh()

    # ------------------------------------------------------------------ refresh from the document
    @Slot()
    def refresh(self) -> None:
        st = self.session.state
        self._refreshing = True
        try:
            for cid, it in self._items.items():
                cs = st.channel(cid)
                for col, name in FLAG_COLUMNS.items():
                    on = (cs.freeze is not None) if name == "freeze" else bool(getattr(cs, name))
                    want = Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
                    if it.checkState(col) != want:
                        it.setCheckState(col, want)
            for g, gi in self._groups.items():
                gs = st.group(g)
                ids = channels_in_group(g)
                for col, name in FLAG_COLUMNS.items():
                    if name == "freeze":
                        n = sum(st.channel(c).freeze is not None for c in ids)
                        want = (Qt.CheckState.Checked if n == len(ids) else
                                Qt.CheckState.PartiallyChecked if n else Qt.CheckState.Unchecked)
                    else:
                        want = Qt.CheckState.Checked if getattr(gs, name) else Qt.CheckState.Unchecked
                    if gi.checkState(col) != want:
                        gi.setCheckState(col, want)
        finally:
            self._refreshing = False
        self.on_playhead(self.session.playhead)

    @Slot(object)
    def on_document_changed(self, _event: object) -> None:
        self.refresh()

    @Slot(int)
    def on_playhead(self, frame: int) -> None:
        rng = self.session.frame_range
        if len(rng) == 0:
            vals = np.array([CHANNEL_SPECS[c].default for c in ALL_CHANNEL_IDS])
        else:
            vals = self.session.doc.evaluate_values([rng.clamp(frame)]).values[0]
        self._refreshing = True
        try:
            for i, cid in enumerate(ALL_CHANNEL_IDS):
                self._items[cid].setText(COL_VALUE, format_value(cid, float(vals[i])))
        finally:
            self._refreshing = False

    # ------------------------------------------------------------------ edits
    @Slot(QTreeWidgetItem, int)
    def _on_item_changed(self, item: QTreeWidgetItem, col: int) -> None:
        if self._refreshing or col not in FLAG_COLUMNS:
            return
        name = FLAG_COLUMNS[col]
        on = item.checkState(col) == Qt.CheckState.Checked
        gname = item.data(COL_NAME, ROLE_GROUP)
        if gname is not None:
            group = ChannelGroup[gname]
            if name == "freeze":
                self.session.set_frozen(channels_in_group(group), on)
            else:
                self.session.set_group_flags(group, **{name: on})
        else:
            cid = item.data(COL_NAME, ROLE_ID)
            if name == "freeze":
                self.session.set_frozen([cid], on)
            else:
                self.session.set_channel_flags([cid], **{name: on})
        self.refresh()  # a refused edit (locked) snaps the box back

    @Slot()
    def _on_selection(self) -> None:
        if self._refreshing:
            return
        ids: list[str] = []
        for it in self.selectedItems():
            g = it.data(COL_NAME, ROLE_GROUP)
            if g is not None:
                ids.extend(channels_in_group(ChannelGroup[g]))
            else:
                ids.append(it.data(COL_NAME, ROLE_ID))
        seen = dict.fromkeys(ids)
        self.session.select_channels(tuple(seen))

    @Slot(object)
    def _on_session_selection(self, ids: tuple[str, ...]) -> None:
        current = set()
        for it in self.selectedItems():
            cid = it.data(COL_NAME, ROLE_ID)
            if cid is not None:
                current.add(cid)
        if current == set(ids):
            return
        self.select_channels(ids)

    def select_channels(self, ids) -> None:
        """Select these channels in the tree (and so in the session)."""
        self._refreshing = True
        try:
            self.clearSelection()
            for cid in ids:
                it = self._items.get(cid)
                if it is not None:
                    it.setSelected(True)
                    it.parent().setExpanded(True)
            if ids and ids[0] in self._items:
                self.scrollToItem(self._items[ids[0]])
        finally:
            self._refreshing = False
        self.session.select_channels(tuple(ids))

    def item(self, cid: str) -> QTreeWidgetItem:
        return self._items[cid]

    def group_item(self, g: ChannelGroup) -> QTreeWidgetItem:
        return self._groups[g]
