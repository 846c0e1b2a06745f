"""`kringloop demo`: sample responses worked by simulated team members."""
