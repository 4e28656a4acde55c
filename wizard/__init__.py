"""matrix-wizard: size, configure and deploy a Matrix homeserver."""

__version__ = "0.1.0"
