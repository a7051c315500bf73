"""A hybrid quantum–classical classifier in PyTorch: dense encoder -> qadl circuit -> linear head.

The setup of the hybrid seed papers: a small dense layer compresses 8x8 digit images
(scikit-learn's bundled digits, all ten classes, no download) to 8 angles, a 4-qubit
qadl circuit encodes them and applies two trained layers, its four ⟨Z⟩ expectation
values feed a linear head, and one torch optimizer trains all three parts together.
The circuit's gradients (for its θ and for the encoder's outputs) come from qadl's
adjoint method. Every class passes through the circuit's four numbers.

Run:   pip install qadl[torch]; python examples/hybrid_torch.py
Measured (torch 2.13 CPU, seed 0, 15 epochs, ~20 s of CPU): test accuracy 0.884 on the
450 held-out digits (0.636 after the first epoch, 0.902 at best, epoch 12).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import qadl
from qadl.interop.torch import QadlLayer

CIRCUIT = """
model quantum(z: float[8]) on q[4] {
    param θ[24] init uniform(0, 2π)
    for j in 0..4 {
        ry(z[2 * j]) q[j]
        rz(z[2 * j + 1]) q[j]
    }
    for layer in 0..2 {
        for j in 0..4 {
            ry(θ[12 * layer + 3 * j]) q[j]
            rz(θ[12 * layer + 3 * j + 1]) q[j]
            ry(θ[12 * layer + 3 * j + 2]) q[j]
        }
        for j in 0..3 { cz q[j], q[j + 1] }
    }
    readout expval(Z q[0], Z q[1], Z q[2], Z q[3]) -> classes 4
}
"""


class Hybrid(torch.nn.Module):
    """64 pixels -> 8 angles -> 4-qubit circuit (4 ⟨Z⟩ values) -> 10 class logits."""

    def __init__(self, quantum: QadlLayer) -> None:
        super().__init__()
        self.encoder = torch.nn.Linear(64, 8)
        self.quantum = quantum
        self.head = torch.nn.Linear(4, 10)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        angles = math.pi * torch.tanh(self.encoder(pixels))
        return self.head(self.quantum(angles))


def digits(seed: int, samples: int | None = None) -> tuple[torch.Tensor, ...]:
    """All ten digits, pixels scaled to [0, 1], a stratified 75/25 split of the first
    ``samples`` images (default: all 1,797)."""
    data = load_digits()
    x, y = data.data[:samples] / 16.0, data.target[:samples]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=seed
    )
    as_x = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    as_y = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    return as_x(x_train), as_y(y_train), as_x(x_test), as_y(y_test)


def train(
    epochs: int = 15, seed: int = 0, samples: int | None = None, verbose: bool = True
) -> float:
    """Train the hybrid model; returns its test accuracy."""
    torch.manual_seed(seed)
    program = qadl.loads(CIRCUIT, "hybrid_torch.qadl")
    quantum = QadlLayer(program.classifier("quantum"), output="readout")
    model = Hybrid(quantum).double()
    x_train, y_train, x_test, y_test = digits(seed, samples)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(seed)
    accuracy = 0.0
    for epoch in range(epochs):
        model.train()
        for batch in np.array_split(order.permutation(len(y_train)), len(y_train) // 32):
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            accuracy = float((model(x_test).argmax(dim=1) == y_test).double().mean())
        if verbose:
            print(f"epoch {epoch + 1:2d}: loss {loss.item():.3f}, test accuracy {accuracy:.3f}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=None, help="use the first N images")
    args = parser.parse_args()
    print(f"test accuracy {train(args.epochs, args.seed, args.samples):.3f}")


if __name__ == "__main__":
    main()
