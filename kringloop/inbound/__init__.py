"""Mail from respondents coming in: read, matched to its case, taken in or quarantined."""
