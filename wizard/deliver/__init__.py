"""Deliver a bundle: write it to a folder whole, upload it over SSH, and run apply.sh."""
