"""qadl.adversary: attacks, defences and robustness evaluation of qadl classifiers.

Modules (import them directly; this package imports nothing heavy):

- ``config``    frozen option records: ``AttackConfig``, ``QuantumAttackConfig``,
  ``AdversarialTrainingConfig``
- ``norms``     L∞/L2 geometry: projections, steepest steps, random points
- ``attacks``   FGSM, BIM, PGD, MIM, optimiser steps and noise on classical inputs
- ``ren``       the attack of Ren et al. (2022) and its summary statistics
- ``transfer``  black-box transfer from scikit-learn or qadl surrogates
- ``quantum``   local-rotation perturbation unitaries on quantum data
- ``defend``    adversarial training through ``qadl.learn.train.fit``'s batch hook
- ``evaluate``  clean and robust accuracy per attack and epsilon, exact or from shots
- ``fidelity``  overlap of amplitude-encoded inputs, clean vs adversarial
- ``report``    rich text table and matplotlib plots
- ``result``    ``AttackResult``, the value every attack returns
"""
