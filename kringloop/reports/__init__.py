"""Reports that close the loop: NPS, loop health, adopted customers, metrics."""
