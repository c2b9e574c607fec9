"""The status bar's background-job indicator: what runs (extraction, portrait
analysis, checkpoint loading), its progress, and a Cancel button. Exports report
in their own dialog and are neither shown nor cancelled here."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget

from dexstudio.ui.jobs import JobHandle, JobRunner


class JobStatus(QObject):
    """Adds a label, a progress bar and a Cancel button to ``status_bar``.

    Args:
        jobs: the window's job runner.
        status_bar: where the indicator sits.
        parent: the owning window (parent of the widgets).
    """

    def __init__(self, jobs: JobRunner, status_bar: QStatusBar, parent: QWidget) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.label = QLabel("", parent)
        self.progress = QProgressBar(parent)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel", parent)
        self.cancel_button.setToolTip("Cancel the running extraction")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self.cancel_jobs)
        status_bar.addWidget(self.label)
        status_bar.addWidget(self.progress)
        status_bar.addWidget(self.cancel_button)

    def track(self, job: JobHandle, text: str) -> None:
        """Show ``text`` and ``job``'s progress until no tracked job runs."""
        self.label.setText(text)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        job.progressed.connect(self._on_job_progress)
        job.finished.connect(self._on_job_finished)

    @Slot(int, int, str)
    def _on_job_progress(self, done: int, total: int, stage: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        if stage:
            base = self.label.text().split(" — ")[0]
            self.label.setText(f"{base} — {stage}")

    @Slot()
    def _on_job_finished(self) -> None:
        if not any(j.running and j.name != "export" for j in self.jobs.jobs):
            self.label.setText("")
            self.progress.hide()
            self.cancel_button.hide()

    def cancel_jobs(self) -> None:
        """Cancel every running job except exports."""
        for j in self.jobs.jobs:
            if j.name != "export":
                j.cancel()


__all__ = ["JobStatus"]
