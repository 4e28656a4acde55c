"""Ways to learn a machine's HostFacts: this machine, a remote one over SSH, or a profile."""
