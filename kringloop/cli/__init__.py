"""The `kringloop` command."""
