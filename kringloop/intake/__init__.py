"""Taking answers in: the intake API, signed webhooks and CSV imports."""
