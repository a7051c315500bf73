"""qadl.backends.sim."""
