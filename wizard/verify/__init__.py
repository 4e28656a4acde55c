"""Verify a bundle with the real programs that read it, and a live server from outside."""
