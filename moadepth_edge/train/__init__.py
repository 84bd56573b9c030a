"""Training and evaluation (needs torch): losses, metrics, the trainer, evaluation.
`metrics` is numpy-only and importable without torch."""
