"""Render a bundle: answers, facts and secrets in, every file of the deployment out."""
