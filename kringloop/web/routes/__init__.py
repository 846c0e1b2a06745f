"""Routes, grouped by resource."""
