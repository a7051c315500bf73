"""qadl.learn."""
