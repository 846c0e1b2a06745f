"""Running Kringloop: the embedded stack, schedules, logs and metrics."""
