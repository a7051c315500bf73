"""qadl.learn: data sets, readouts, losses, optimizers and training of quantum classifiers.

Modules (import them directly; this package imports nothing heavy):

- ``data``          ``Dataset`` and the built-in scikit-learn digits
- ``quantum_data``  Aubry–André, transverse-field Ising and cluster-Ising states
- ``files``         user .npz/.csv files with located E07xx errors
- ``cache``         the on-disk cache of generated data
- ``readout``       class probabilities from simulator outputs, and their VJP
- ``losses``        cross-entropy, MSE and hinge losses with gradients
- ``classifier``    ``Classifier``: the oracle training and attacks query
- ``optimizers``    Adam, SGD, SPSA, COBYLA behind one functional interface
- ``train``         ``TrainConfig``, ``fit``, ``evaluate``
- ``checkpoint``    atomic training checkpoints
- ``progress``      the terminal progress bar
"""
