"""Answers: every choice of a deployment, their validators, and the secrets kept beside them."""
