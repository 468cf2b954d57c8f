"""Training: datasets, tasks, the trainer loop, events and the worker process (no Qt)."""
