"""Employee NPS: an anonymous employee and the people team in a two-way conversation."""
