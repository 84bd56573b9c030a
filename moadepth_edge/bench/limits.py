"""The largest inputs bench measures, in a module of its own so the CLI's help text can name
them without importing the suite. Past them a run measures the allocator, not the model."""
from __future__ import annotations

MAX_BATCH = 1024  # images per call (--batch)
MAX_SIDE = 8192  # pixels per side of an input (--resolution HEIGHTxWIDTH)
