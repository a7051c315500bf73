"""Run the privacy attacks of a program: gradient inversion and membership inference.

A named ``attack NAME on MODEL { method gradient_inversion(...) }`` or
``{ method membership_inference(...) }`` runs after training and defences. Inversion
attacks gradients of the model's loss on samples of its training data, at its trained
(or initial) parameters; membership inference scores training against held-out samples.
Each records its numbers under ``results.json["privacy"][NAME]``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from qadl.check.methods import PRIVACY_METHODS
from qadl.check.schema import gradient_free_optimizer
from qadl.errors import QadlError
from qadl.program import AttackSpec, CallValue, DataRef, TrainSpec

if TYPE_CHECKING:
    from qadl.adversary.privacy.inversion import InversionConfig

# the attacks (qadl.adversary.privacy) are imported where they run: they import SciPy's
# optimize and special modules, a third of a second that a program without them never needs

__all__ = ["attack_record", "check_privacy", "privacy_table", "run_privacy"]


def _privacy_attacks(session: Any) -> list[AttackSpec]:
    return [a for a in session.program.attacks.values() if a.method.name in PRIVACY_METHODS]


def _base_name(program: Any, name: str) -> str:
    """The ``model`` behind a trained or defended name (also before any defence ran)."""
    defended = {d.result: d.model for d in program.defences}
    return defended.get(name, name)


def _training_of(program: Any, spec: AttackSpec) -> TrainSpec:
    base = _base_name(program, spec.model)
    found = next((t for t in program.trainings if t.model == base), None)
    if found is None:
        raise QadlError.at(
            "E0561",
            f"`{spec.name}` attacks `{spec.model}` through its training data, "
            "but the model is never trained",
            spec.span,
            help=f"add `train {base} on DATA.train {{ ... }}`",
        )
    return found


def check_privacy(session: Any) -> None:
    """Before any work: every privacy attack passes ``check_privacy_attack``."""
    for spec in _privacy_attacks(session):
        check_privacy_attack(session.program, spec, _split_size(session, spec))


def _split_size(session: Any, spec: AttackSpec) -> Any:
    """Split sizes for a shadow-model attack, whose data need (E0966) is known once its data
    set is read; None for the others (their data are loaded when they run)."""
    if spec.method.get("score") != "shadow":
        return None
    return lambda ref: len(session.split(ref, spec.span))


def check_privacy_attack(program: Any, spec: AttackSpec, split_size: Any = None) -> None:
    """A privacy attack's model is trained (E0561), an inverted model's features have exact
    second derivatives (E0563) and an inverted state model gets options for states (E0964),
    the label search is small (E0963), a membership attack has held-out data
    (E0565) and a shadow-model one its options and data (E0966–E0968), a curve
    retrains a ``train``-ed model with gradients (E0961, E0962), a label inference's
    labels are identifiable (E0969).
    ``qadl check`` runs it too (the preflight), with ``split_size(DataRef) -> int | None``
    to find an inversion that needs more samples than its data has (E0564)."""
    training = _training_of(program, spec)
    if spec.method.name == "label_inference":
        from qadl.run.privacy_labels import check_label_inference

        check_label_inference(program, spec, training, split_size)
        return
    if spec.method.name == "membership_inference":
        _check_held_out(spec, training)
        _check_shadow(spec, training, split_size)
        return
    if spec.method.name == "privacy_utility":
        _check_curve(spec, training)
        return
    model = program.models[_base_name(program, spec.model)]
    _check_label_search(spec, model.num_classes)
    if spec.method.get("source") == "updates" and model.input_kind != "state":
        _check_recorded(spec, training)
    size = None if split_size is None else split_size(training.data)
    if size is not None:
        ref = training.data
        name = ref.dataset + (f".{ref.split}" if ref.split else "")
        _check_samples(spec, _needed(spec.method.as_dict()), size, name)
    if model.input_kind == "state":
        _check_state_inversion(spec)
        return
    from qadl.backends.sim.build import build_program
    from qadl.backends.sim.program import SHIFT_NONE

    tape = build_program(model.circuit).tape
    if any(_reads_x(tape, a) for a in np.flatnonzero(tape.shift_rule == SHIFT_NONE)):
        raise QadlError.at(
            "E0563",
            f"`{spec.name}`: model `{spec.model}` amplitude-encodes its features, which "
            "have no exact second derivative here (only rotation angles do)",
            spec.span,
            help="attack a model whose features enter rotation angles",
        )


def _needed(kw: dict[str, Any]) -> int:
    """Training samples an inversion attacks: ``samples × clients × batch``."""
    return int(kw.get("samples", 5)) * int(kw.get("clients", 1)) * int(kw.get("batch", 1))


def _check_samples(spec: AttackSpec, need: int, have: int, data: str) -> None:
    """E0564: the attacked gradients need more training samples than the data has."""
    if need <= have:
        return
    kw = spec.method.as_dict()
    clients = int(kw.get("clients", 1))
    of = f"{clients} clients' " if clients > 1 else ""
    raise QadlError.at(
        "E0564",
        f"`{spec.name}` needs {need} training samples ({int(kw.get('samples', 5))} gradients "
        f"of {of}{int(kw.get('batch', 1))}); `{data}` has {have}",
        spec.span,
        help="lower `samples`, `batch` or `clients`",
    )


def _check_recorded(spec: AttackSpec, training: TrainSpec) -> None:
    """``source = updates`` inverts a recorded round update ``θ_k − θ = −lr·g̃_k``: the
    model's federated training must take one plain SGD step per round (E0965)."""
    fed = training.options.get("federated")
    opt = training.options.get("optimizer")
    kw = opt.as_dict() if isinstance(opt, CallValue) else {}
    name = opt.name if isinstance(opt, CallValue) else opt
    rounds = int(fed.as_dict().get("rounds", 20)) if fed is not None else 0
    problem = None
    if spec.model != training.model or fed is None:
        problem = f"`{spec.model}` is not trained by `federated(...)`: no updates are recorded"
    elif int(fed.as_dict().get("local_steps", 2)) != 1:
        problem = "its clients take several local steps per round (`local_steps = 1` needed)"
    elif name != "sgd" or float(kw.get("momentum", 0.0)) != 0.0:
        problem = "its optimizer is not plain `sgd` (momentum 0): an update is no gradient"
    elif int(spec.method.get("round", 1)) > rounds:
        problem = f"the training has {rounds} rounds, not {spec.method.get('round')}"
    if problem is not None:
        raise updates_refused(
            spec,
            problem,
            "train with `federated(local_steps = 1, ...)` and `optimizer sgd(lr = ...)`, "
            "or attack simulated releases (`source = gradient`)",
        )


def updates_refused(spec: AttackSpec, problem: str, help: str) -> QadlError:
    """E0965: ``spec`` (``source = updates``) cannot invert a recorded update: ``problem``."""
    return QadlError.at(
        "E0965",
        f"`{spec.name}` inverts a recorded update of `{spec.model}` (`source = updates`), "
        f"but {problem}",
        spec.span,
        label="no gradient recorded",
        help=help,
    )


def _check_state_inversion(spec: AttackSpec) -> None:
    """Input states are recovered by L-BFGS-B over their amplitudes with known labels; a
    feature box, label search or gradient-free optimizer has no meaning there (E0964)."""
    kw = spec.method.as_dict()
    problems = [
        ("`source = updates`", kw.get("source") == "updates"),
        ("`clip [lo, hi]`", "clip" in spec.options),
        ("`labels = inferred`", kw.get("labels") == "inferred"),
        ("`optimizer = nelder_mead`", kw.get("optimizer") == "nelder_mead"),
    ]
    for what, given in problems:
        if given:
            raise QadlError.at(
                "E0964",
                f"`{spec.name}` recovers the input states of `{spec.model}`, which reads "
                f"quantum states; {what} applies to feature inputs only",
                spec.span,
                label="not for states",
                help="leave it out: states are searched over their amplitudes, labels known",
            )


def _check_label_search(spec: AttackSpec, classes: int) -> None:
    """``labels = inferred`` tries every label multiset of a gradient's inputs (E0963)."""
    if spec.method.get("labels", "known") != "inferred":
        return
    from qadl.adversary.privacy.inversion import MAX_LABEL_MULTISETS, label_multiset_count

    inputs = int(spec.method.get("batch", 1)) * int(spec.method.get("clients", 1))
    count = label_multiset_count(classes, inputs)
    if count > MAX_LABEL_MULTISETS:
        raise QadlError.at(
            "E0963",
            f"`{spec.name}`: `labels = inferred` tries every multiset of {inputs} labels among "
            f"{classes} classes, {count} of them (at most {MAX_LABEL_MULTISETS})",
            spec.span,
            label="too many label guesses",
            help="lower `batch` or `clients`, or give the labels (`labels = known`)",
        )


def _check_curve(spec: AttackSpec, training: TrainSpec) -> None:
    """A privacy-utility curve retrains the model of a ``train`` statement with DP-SGD:
    not a defended copy (E0961), and with a gradient-based optimizer (E0962)."""
    if spec.model != training.model:
        raise QadlError.at(
            "E0961",
            f"`{spec.name}` retrains `{spec.model}` with DP-SGD at every noise level, but "
            f"`{spec.model}` is made by a `defend` statement, not by `train`",
            spec.span,
            label="a defended copy",
            help=f"draw the curve of `{training.model}`",
        )
    name = gradient_free_optimizer(training.options)
    if name is not None:
        raise QadlError.at(
            "E0962",
            f"`{spec.name}` retrains `{spec.model}` with DP-SGD, which clips per-sample "
            f"gradients; its training uses `{name}`, which has none",
            spec.span,
            label="its training has no gradients",
            help="train the model with a gradient-based optimizer (adam, sgd)",
        )


def _check_held_out(spec: AttackSpec, training: TrainSpec) -> None:
    """Membership inference compares training samples with held-out ones of the same data."""
    if training.data.split != "train":
        raise QadlError.at(
            "E0565",
            f"`{spec.name}` compares the training samples of `{spec.model}` with held-out "
            f"ones, but the model trains on `{training.data.dataset}.{training.data.split}`",
            spec.span,
            help=f"train on `{training.data.dataset}.train` so that the test split is held out",
        )


_SHADOW_OPTIONS = ("shadows", "shadow_size", "shadow_epochs")


def _check_shadow(spec: AttackSpec, training: TrainSpec, split_size: Any) -> None:
    """Shadow options need ``score = shadow`` (E0967); shadows copy the ``train``
    statement of a model trained by it, centralized when ``shadow_epochs`` is given
    (E0967, E0968); the held-out split holds every shadow's data (E0966, sizes known)."""
    kw = spec.method.as_dict()
    shadow = kw.get("score") == "shadow"
    given = [k for k in _SHADOW_OPTIONS if k in kw]
    problem = None
    if given and not shadow:
        problem = f"`{given[0]}` applies to `score = shadow` only, not to a threshold attack"
        help_ = "add `score = shadow`, or leave the shadow options out"
    elif shadow and "shadow_epochs" in kw and "federated" in training.options:
        problem = "`shadow_epochs` sets epochs, but the shadows train `federated` (rounds)"
        help_ = "leave `shadow_epochs` out: the shadows train the target's rounds"
    if problem is not None:
        raise QadlError.at(
            "E0967",
            f"`{spec.name}`: {problem}",
            spec.span,
            label="option does not apply",
            help=help_,
        )
    if not shadow:
        return
    if spec.model != training.model:
        raise QadlError.at(
            "E0968",
            f"`{spec.name}` trains shadow copies of `{spec.model}` by its `train` statement, "
            f"but `{spec.model}` is made by a `defend` statement",
            spec.span,
            label="a defended copy",
            help=f"attack `{training.model}`, or use a threshold score (`loss`, `confidence`)",
        )
    if split_size is None:
        return
    members = split_size(training.data)
    held_out = split_size(DataRef(training.data.dataset, "test"))
    if members is not None and held_out is not None:
        from qadl.run.privacy_shadow import check_shadow_data

        check_shadow_data(spec, training.data.dataset, members, held_out)


def _reads_x(tape: Any, entry: int) -> bool:
    """Whether tape entry ``entry`` depends on a feature."""
    lo, hi = tape.sym_ptr[tape.term_ptr[entry]], tape.sym_ptr[tape.term_ptr[entry + 1]]
    return bool(np.any(tape.sym_kind[lo:hi] == 1))


def _release_options(spec: AttackSpec, training: TrainSpec) -> dict[str, Any]:
    """The DP options of the release the client shares: the attack's own ``clip_norm``,
    ``noise`` and ``delta``, else those of the model's DP-SGD training (``dp(…)``): a
    client trained so shares exactly such releases, one per step."""
    kw = spec.method.as_dict()
    dp = training.options.get("dp")
    if "clip_norm" in kw or dp is None or spec.model != training.model:
        return kw
    own = dp.as_dict()
    inherited = {
        "clip_norm": own.get("clip", 1.0),
        "noise": own.get("noise", 1.0),
        "delta": own.get("delta", 1e-5),
    }
    return {**kw, **inherited, "dp_source": "training"}


def _config(spec: AttackSpec, x: np.ndarray | None, kw: dict[str, Any]) -> InversionConfig:
    from qadl.adversary.privacy.inversion import InversionConfig

    clip = spec.options.get("clip")
    if clip:
        box = (float(clip[0]), float(clip[1]))
    else:  # states have no feature box: the search is over unconstrained amplitudes
        box = (0.0, 1.0) if x is None else (float(x.min()), float(x.max()))
    return InversionConfig(
        loss=str(kw.get("loss", "l2")),
        restarts=int(kw.get("restarts", 8)),
        steps=int(kw.get("steps", 200)),
        batch=int(kw.get("batch", 1)),
        clients=int(kw.get("clients", 1)),
        samples=int(kw.get("samples", 5)),
        optimizer=str(kw.get("optimizer", "lbfgs")),
        tolerance=float(kw.get("tolerance", 1e-4)),
        box=box,
        seed=int(spec.options.get("seed", 0)),
        clip_norm=float(kw["clip_norm"]) if "clip_norm" in kw else None,
        noise=float(kw.get("noise", 0.0)),
        shots=int(kw["shots"]) if "shots" in kw else None,
        infer_labels=kw.get("labels", "known") == "inferred",
    )


def _dp_record(session: Any, spec: AttackSpec, kw: dict[str, Any]) -> dict[str, Any]:
    """The client's DP-SGD release: clipping, noise and the (ε, δ) of one release; for
    a release inherited from DP-SGD training, also that run's (ε, δ) over all its steps."""
    if "clip_norm" not in kw:
        return {}
    from qadl.adversary.privacy.accountant import gaussian_epsilon

    noise, delta = float(kw.get("noise", 0.0)), float(kw.get("delta", 1e-5))
    eps = gaussian_epsilon(1.0, noise, 1, delta) if noise > 0 else None
    dp = {"clip_norm": float(kw["clip_norm"]), "noise": noise, "delta": delta, "epsilon": eps}
    if kw.get("dp_source") == "training":
        run = session.results["models"][spec.model]["dp"]
        dp.update(source="training", training_epsilon=run["epsilon"], training_steps=run["steps"])
    return {"dp": dp}


def run_privacy(session: Any) -> None:
    """Every privacy attack, in order; a record per attack under ``results["privacy"]``."""
    specs = _privacy_attacks(session)
    for spec in specs:
        started = time.perf_counter()
        if spec.method.name == "privacy_utility":
            from qadl.run.privacy_curve import run_curve

            record = run_curve(session, spec)
        else:
            record = attack_record(session, spec)
        record["seconds"] = time.perf_counter() - started
        session.results.setdefault("privacy", {})[spec.name] = record
    if specs:
        print(privacy_table(session.results["privacy"]), flush=True)


def attack_record(
    session: Any,
    spec: AttackSpec,
    *,
    theta: np.ndarray | None = None,
    release: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of one gradient inversion, membership or label inference; ``theta``
    replaces the model's trained θ and ``release`` the inversion's DP options (a curve's
    point)."""
    if spec.method.name == "membership_inference":
        return _membership(session, spec, theta)
    if spec.method.name == "label_inference":
        from qadl.run.privacy_labels import run_labels

        return run_labels(session, spec, _training_of(session.program, spec))
    return _inversion(session, spec, theta, release)


def _membership(session: Any, spec: AttackSpec, theta: np.ndarray | None) -> dict[str, Any]:
    """Threshold attack on equally many training (member) and test (non-member) samples;
    ``score = shadow`` is the shadow-model attack (``qadl.run.privacy_shadow``)."""
    training = _training_of(session.program, spec)
    if spec.method.get("score") == "shadow":
        from qadl.run.privacy_shadow import run_shadow

        return run_shadow(session, spec, training)
    members = session.split(training.data, spec.span)
    others = session.split(DataRef(training.data.dataset, "test"), spec.span)
    score = str(spec.method.get("score", "loss"))
    n = min(len(members), len(others), int(spec.method.get("samples", 10**9)))
    rng = np.random.default_rng(int(spec.options.get("seed", 0)))
    print(
        f"attack {spec.name} on {spec.model}: membership inference ({score} threshold), "
        f"{n} members and {n} non-members",
        flush=True,
    )
    from qadl.adversary.privacy.membership import membership_inference, membership_scores

    clf = session.classifier(spec.model)
    theta = session.theta(spec.model, spec.span) if theta is None else theta
    loss = str(training.options.get("loss", "cross_entropy"))

    def scores(data: Any) -> np.ndarray:
        picked = data.take(np.sort(rng.permutation(len(data))[:n]))
        return membership_scores(
            clf, theta, picked.y, score, x=picked.x, state=picked.states, loss=loss
        )

    result = membership_inference(scores(members), scores(others))
    return {"model": spec.model, "method": spec.method.name, "score": score, **result.to_json()}


def _inversion(
    session: Any, spec: AttackSpec, theta: np.ndarray | None, release: dict[str, Any] | None
) -> dict[str, Any]:
    """Gradient inversion of shared gradients of the model's training samples."""
    training = _training_of(session.program, spec)
    if spec.method.get("source") == "updates":
        from qadl.run.privacy_updates import invert_recorded

        return invert_recorded(session, spec, training)
    data = session.split(training.data, spec.span)
    release = _release_options(spec, training) if release is None else release
    reads_states = session.model(spec.model).input_kind == "state"
    config = _config(spec, data.x if not reads_states else None, release)
    need = config.samples * config.clients * config.batch
    _check_samples(spec, need, len(data), data.name)
    at = str(spec.method.get("at", "trained"))
    if at == "trained":
        theta = session.theta(spec.model, spec.span) if theta is None else theta
    else:
        theta = session.model(spec.model).initial_params(int(training.options.get("seed", 7)))
    loss = str(training.options.get("loss", "cross_entropy"))
    oracle, client, device = _oracles(session, spec.model, theta, loss, states=reads_states)
    order = np.random.default_rng(config.seed).permutation(len(data))[:need]
    print(
        f"attack {spec.name} on {spec.model}: gradient inversion of {config.samples} shared "
        f"gradient(s) of {config.batch} sample(s)"
        + (f", each the mean of {config.clients} clients'" if config.clients > 1 else "")
        + f", {config.restarts} restarts, "
        f"{config.optimizer}",
        flush=True,
    )
    if reads_states:
        from qadl.adversary.privacy.states import invert_states

        result = invert_states(oracle, data.states[order], data.y[order], config, client=client)
    else:
        from qadl.adversary.privacy.inversion import invert_gradients

        result = invert_gradients(oracle, data.x[order], data.y[order], config, client=client)
    return {
        "model": spec.model,
        "method": spec.method.name,
        "at": at,
        "loss": config.loss,
        "optimizer": config.optimizer,
        "batch": config.batch,
        "clients": config.clients,
        "restarts": config.restarts,
        "steps": config.steps,
        "input": "state" if reads_states else "features",
        **({} if reads_states else {"box": list(config.box)}),
        "shots": config.shots,
        "labels": "inferred" if config.infer_labels else "known",
        "device": device,
        **_dp_record(session, spec, release),
        **result.to_json(),
        **({"mean_fidelity": _mean_fidelity(result)} if reads_states else {}),
    }


def _mean_fidelity(result: Any) -> float:
    """Mean fidelity of the kept reconstructions (their errors are infidelities)."""
    return 1.0 - float(np.mean(result.to_json()["errors"]))


def _oracles(session: Any, name: str, theta: np.ndarray, loss: str, *, states: bool = False):
    """``(attacker's oracle, client's oracle or None, device name or None)``. A model bound
    to a noisy device shares gradients computed under the device's noise (density
    matrices, exact); the attacker matches them with the noiseless model, whose exact
    second derivatives it has."""
    from qadl.adversary.privacy.matching import GradientOracle
    from qadl.adversary.privacy.states import StateOracle
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier

    make = StateOracle if states else GradientOracle
    clf = session.classifier(name)
    model = session.model(name)
    target = session.program.target_of(model.name)
    if target is None or target.noise.is_noiseless:
        return make(clf, theta, loss), None, None
    ideal = Classifier(Simulator(model.circuit), model.circuit.readout, scale=model.readout_scale)
    return make(ideal, theta, loss), make(clf, theta, loss), target.name


def _dp_text(record: dict[str, Any]) -> str:
    """``-`` without DP, ``∞`` for clipping without noise, else ε (at the record's δ)."""
    dp = record.get("dp")
    if dp is None:
        return "-"
    return "∞" if dp["epsilon"] is None else f"{dp['epsilon']:.3g}"


def _run_dp_text(record: dict[str, Any]) -> str:
    """The ε of the DP-SGD training run whose release is attacked (``-``: not inherited)."""
    dp = record.get("dp") or {}
    if dp.get("source") != "training":
        return "-"
    return "∞" if dp["training_epsilon"] is None else f"{dp['training_epsilon']:.3g}"


def privacy_table(records: dict[str, dict[str, Any]]) -> str:
    """The privacy attacks' numbers: a table for inversions, membership and label inference."""
    inversions = {n: r for n, r in records.items() if r["method"] == "gradient_inversion"}
    memberships = {n: r for n, r in records.items() if r["method"] == "membership_inference"}
    parts = []
    if inversions:
        head = (
            f"{'attack':<18} {'model':<12} {'batch':>5} {'optimizer':<11} {'DP ε':>8} {'run ε':>7} "
            f"{'recovered':>9} {'restarts':>8} {'median err':>10} {'rel err':>9}"
        )
        rows = [head, "-" * len(head)]
        for name, r in inversions.items():
            batch = f"{r['clients']}×{r['batch']}" if r.get("clients", 1) > 1 else r["batch"]
            rows.append(
                f"{name:<18} {r['model']:<12} {batch:>5} {r['optimizer']:<11} "
                f"{_dp_text(r):>8} {_run_dp_text(r):>7} {r['recovered_fraction']:>9.3f} "
                f"{r['restart_recovered_fraction']:>8.3f} {r['median_error']:>10.2e} "
                f"{r['mean_relative_error']:>9.2e}"
            )
        parts.append("\n".join(rows))
    if memberships:
        head = (
            f"{'attack':<18} {'model':<12} {'score':<10} {'members':>7} {'AUC':>6} "
            f"{'advantage':>9} {'accuracy':>8}"
        )
        rows = [head, "-" * len(head)]
        for name, r in memberships.items():
            rows.append(
                f"{name:<18} {r['model']:<12} {r['score']:<10} {r['members']:>7} "
                f"{r['auc']:>6.3f} {r['advantage']:>9.3f} {r['attack_accuracy']:>8.3f}"
            )
        parts.append("\n".join(rows))
    labels = {n: r for n, r in records.items() if r["method"] == "label_inference"}
    if labels:
        from qadl.run.privacy_labels import label_table

        parts.append(label_table(labels))
    curves = {n: r for n, r in records.items() if r["method"] == "privacy_utility"}
    if curves:
        from qadl.run.privacy_curve import curve_table

        parts.extend(curve_table(n, r) for n, r in curves.items())
    return "\n\n".join(parts)
