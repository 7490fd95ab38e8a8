"""The control page's stylesheet and script."""
