"""One SSH connection, its target, keys and host-key checks, shared by probe and deliver."""
