"""qadl.ir."""
