"""Adapters between qadl models and other machine-learning tools.

Each adapter is its own module and imports its library only when imported itself
(``import qadl`` and ``import qadl.interop`` import none of them):

- ``qadl.interop.art``: an estimator of the Adversarial Robustness Toolbox (``qadl[art]``);
- ``qadl.interop.torch``: a PyTorch layer with qadl's adjoint gradients (``qadl[torch]``);
- ``qadl.interop.sklearn``: a scikit-learn classifier trained by qadl.
"""
