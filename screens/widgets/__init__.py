"""Small widgets the steps share."""
