"""Forgetting people: erasure on request and after the retention period."""
