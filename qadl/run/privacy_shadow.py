"""``membership_inference(score = shadow, shadows = K)``: the shadow-model attack, run.

The attacker's data is the target's held-out (``test``) split, which the target never
trained on. Shuffled once with the attack's seed, it gives each of the K shadows
``shadow_size`` samples to train on and as many to hold out (disjoint across shadows),
and what is left gives the non-members the attack is scored on. Every shadow trains like
the target, by the target's own ``train`` statement (optimizer, batch, loss, DP,
federated …), from its own initial θ and with its own seed, both spawned from the attack's
seed (``numpy.random.SeedSequence``); ``shadow_epochs`` trains them for fewer epochs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from qadl.adversary.privacy.membership import membership_inference
from qadl.adversary.privacy.shadow import attack_features, fit_attack, shadow_partition
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.federated import federated_fit
from qadl.learn.train import fit
from qadl.program import AttackSpec, DataRef, TrainSpec
from qadl.run import configs
from qadl.run.context import say
from qadl.run.federated import federated_config

__all__ = ["check_shadow_data", "run_shadow", "shadow_sizes"]

DEFAULT_SHADOWS = 4
"""Shadow models when ``shadows`` is not given."""


def shadow_sizes(spec: AttackSpec, members: int, held_out: int) -> tuple[int, int, int]:
    """``(shadows, samples per shadow half, non-members evaluated)`` for splits of
    ``members`` training and ``held_out`` test samples. A shadow trains on as many samples
    as the target unless ``shadow_size`` says otherwise."""
    kw = spec.method.as_dict()
    shadows = int(kw.get("shadows", DEFAULT_SHADOWS))
    size = int(kw.get("shadow_size", members))
    left = held_out - 2 * shadows * size
    return shadows, size, min(members, max(left, 0), int(kw.get("samples", 10**9)))


def check_shadow_data(spec: AttackSpec, data: str, members: int, held_out: int) -> None:
    """E0966: the held-out split cannot give every shadow its disjoint ``in`` and ``out``
    halves and still leave a non-member to score."""
    shadows, size, evaluated = shadow_sizes(spec, members, held_out)
    if evaluated >= 1:
        return
    need = 2 * shadows * size
    raise QadlError.at(
        "E0966",
        f"`{spec.name}` trains {shadows} shadow model(s) on {size} samples each and holds "
        f"out as many: {need} samples of `{data}.test` plus at least one non-member to "
        f"score, but it has {held_out}",
        spec.span,
        label="not enough held-out data",
        help="lower `shadows` or `shadow_size`, or hold out more data (`test = …` of the data set)",
    )


def run_shadow(session: Any, spec: AttackSpec, training: TrainSpec) -> dict[str, Any]:
    """Train the shadows, fit the attack on their records, score the target's samples."""
    members = session.split(training.data, spec.span)
    held = session.split(DataRef(training.data.dataset, "test"), spec.span)
    check_shadow_data(spec, training.data.dataset, len(members), len(held))
    shadows, size, n = shadow_sizes(spec, len(members), len(held))
    root, *children = np.random.SeedSequence(int(spec.options.get("seed", 0))).spawn(shadows + 1)
    rng = np.random.default_rng(root)
    split = shadow_partition(len(held), shadows, size, n, rng)
    length = _length(session, spec, training)
    unit = length[0].removeprefix("shadow_")
    say(
        f"attack {spec.name} on {spec.model}: membership inference with {shadows} shadow "
        f"model(s) of {size} training samples, {length[1]} {unit} each; {n} members and "
        f"{n} non-members"
    )
    clf = session.classifier(spec.model)
    features, labels, inside, accuracy = [], [], [], []
    for (ins, outs), child in zip(split.shadows, children, strict=True):
        seed = int(child.generate_state(1)[0])
        config = _shadow_config(session, spec, training, seed)
        theta = _train_shadow(session, training, held.take(ins), held.take(outs), config)
        for data, flag in ((held.take(ins), 1), (held.take(outs), 0)):
            probs = clf.predict_proba(theta, x=data.x, state=data.states)
            features.append(attack_features(probs, data.y))
            labels.append(data.y)
            inside.append(np.full(len(data), flag))
            accuracy.append((flag, float(np.mean(probs.argmax(axis=1) == data.y))))
    feats, ys, flags = np.concatenate(features), np.concatenate(labels), np.concatenate(inside)
    attack = fit_attack(feats, ys, flags)
    theta = session.theta(spec.model, spec.span)

    def scores(data: Dataset) -> np.ndarray:
        probs = clf.predict_proba(theta, x=data.x, state=data.states)
        return attack.scores(attack_features(probs, data.y), data.y)

    picked = np.sort(rng.permutation(len(members))[:n])
    result = membership_inference(
        scores(members.take(picked)), scores(held.take(split.non_members))
    )
    from sklearn.metrics import roc_auc_score  # lazy: only attacks need it

    return {
        "model": spec.model,
        "method": spec.method.name,
        "score": "shadow",
        "shadows": shadows,
        "shadow_size": size,
        length[0]: length[1],
        "attack_model": "logistic regression per class",
        "attack_classes": sorted(attack.per_class),
        "shadow_train_accuracy": float(np.mean([a for f, a in accuracy if f == 1])),
        "shadow_held_out_accuracy": float(np.mean([a for f, a in accuracy if f == 0])),
        "shadow_auc": float(roc_auc_score(flags, attack.scores(feats, ys))),
        **result.to_json(),
    }


def _length(session: Any, spec: AttackSpec, training: TrainSpec) -> tuple[str, int]:
    """How long every shadow trains: ``("shadow_epochs", E)``, or ``("shadow_rounds", R)``
    for federated training."""
    if "federated" in training.options:
        fed = federated_config(training.options["federated"], session.options.max_epochs)
        return "shadow_rounds", fed.rounds
    return "shadow_epochs", _shadow_config(session, spec, training, 0).epochs


def _shadow_config(session: Any, spec: AttackSpec, training: TrainSpec, seed: int) -> Any:
    """The target's training configuration with the shadow's seed (shuffles, optimizer) and
    no checkpoints; ``shadow_epochs`` replaces its epochs (``--max-epochs`` caps both)."""
    options = {**training.options, "seed": seed}
    if "shadow_epochs" in spec.method.as_dict():
        options["epochs"] = int(spec.method.get("shadow_epochs"))
    config = configs.train_config(
        options,
        checkpoint_dir=None,
        resume=False,
        max_epochs=session.options.max_epochs,
        out_dir=session.options.out_dir,
        device_shots=session.device_shots(training.model),
    )
    return replace(config, checkpoint_dir=None, resume=False)


def _train_shadow(
    session: Any, training: TrainSpec, train: Dataset, held: Dataset, config: Any
) -> np.ndarray:
    """One shadow: the target's training from the shadow's own initial θ (drawn from its
    seed, as the target's from its own); its held-out half plays the target's test split
    (early stopping measures it)."""
    from qadl.run.training import training_classifier

    clf = training_classifier(session, training)
    theta0 = session.model(training.model).initial_params(config.seed)
    if "federated" in training.options:
        fed = federated_config(training.options["federated"], session.options.max_epochs)
        return federated_fit(
            clf, theta0, train, config, fed, test=held, progress=False
        ).training.theta
    return fit(clf, theta0, train, config, test=held, progress=False).theta
