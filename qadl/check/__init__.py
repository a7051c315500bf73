"""qadl.check: imports, scopes, name resolution and option schemas (the checker stage).

The public function that returns a file's diagnostics is ``qadl.diagnose`` (``qadl.api``).
"""
