"""One module per survey tool: how it signs a delivery, what a delivery says, how to fetch."""
