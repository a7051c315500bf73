"""qadl.check."""
