"""qadl.frontend."""
