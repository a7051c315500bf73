"""Privacy attacks on shared gradients: gradient inversion (``inversion``) with exact
second derivatives (``matching``, ``curvature``)."""
