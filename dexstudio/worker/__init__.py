"""Background render worker: frozen requests, priorities, caches, cancellation (Qt-free)."""
