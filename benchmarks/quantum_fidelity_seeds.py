"""How the fidelity-0.95 flip rate of `examples/ren2022_quantum_fidelity.qadl` depends on the seed.

Run from the repository root::

    python benchmarks/quantum_fidelity_seeds.py --seeds 1-30 [--optimizer natural|adam]

For every init seed S the example is run as written except that its `train` block uses
`seed S` and the defence (with the attacks on the defended model) is left out; the
clean-trained model is then attacked with `rot95` (local rotations, fidelity >= 0.95).
With `--optimizer adam` the attack uses Adam on the angles (`lr = 0.01`, 60 steps,
stopping at the fidelity floor) instead of the natural gradient. Prints one row per seed
(clean test accuracy, flips among correct, accuracy under attack) and a summary over the
models that reach the clean-accuracy bar.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qadl.api import loads  # noqa: E402
from qadl.run.session import RunOptions, run_program  # noqa: E402

EXAMPLE = ROOT / "examples" / "ren2022_quantum_fidelity.qadl"
ADAM = "method local_rotations(epsilon = 0.5, steps = 60, lr = 0.01, fidelity = 0.95)"


def variant(source: str, seed: int, optimizer: str) -> str:
    """The example with ``seed`` in its train block, no defence, and the chosen attack."""
    train = re.search(r"train phase on .*?\n}\n", source, re.S)
    source = (
        source[: train.start()]
        + re.sub(r"seed \d+", f"seed {seed}", train.group(0))
        + source[train.end() :]
    )
    source = source[: source.index("defend phase")]
    source += "evaluate phase on chain.test under [clean, rot95] { fidelity true }\n"
    if optimizer == "adam":
        source = re.sub(r"method local_rotations\(.*?\)", ADAM, source, flags=re.S)
    return source


def seeds_of(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-30", help="e.g. 1-30 or 7")
    parser.add_argument("--optimizer", choices=("natural", "adam"), default="natural")
    parser.add_argument("--bar", type=float, default=0.95, help="clean-accuracy bar")
    args = parser.parse_args()
    source = EXAMPLE.read_text(encoding="utf-8")
    rows = []
    print(f"{'seed':>4} {'clean':>6} {'flips':>6} {'under attack':>12}")
    for seed in seeds_of(args.seeds):
        program = loads(variant(source, seed, args.optimizer), str(EXAMPLE))
        quiet = contextlib.redirect_stdout(io.StringIO())
        with tempfile.TemporaryDirectory() as out, quiet:
            results = run_program(program, RunOptions(Path(out), progress=False, plots=False))
        evaluation = results["evaluations"][0]
        point = evaluation["points"][0]
        rows.append((seed, evaluation["clean_accuracy"], point["success_rate"]))
        print(
            f"{seed:>4} {evaluation['clean_accuracy']:>6.2f} {point['success_rate']:>6.2f} "
            f"{point['robust_accuracy']:>12.2f}",
            flush=True,
        )
    kept = np.array([flips for _, clean, flips in rows if clean >= args.bar])
    if kept.size:
        print(
            f"{kept.size} of {len(rows)} models reach {args.bar:.0%} clean accuracy; flips "
            f"{kept.min():.2f}-{kept.max():.2f}, median {np.median(kept):.2f}, "
            f"{int((kept >= 0.8).sum())} at >= 80%"
        )


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
