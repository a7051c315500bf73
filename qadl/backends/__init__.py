"""qadl.backends."""
