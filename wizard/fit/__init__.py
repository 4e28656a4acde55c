"""Fit a machine to the tier tables, recommend a homeserver, and print facts and fits as text."""
