"""Benchmarks: Kringloop against the bare-Temporal ceiling, measured side by side in one run."""
