"""qadl.adversary."""
