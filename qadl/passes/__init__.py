"""qadl.passes."""
