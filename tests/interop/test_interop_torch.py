"""qadl.interop.torch: gradcheck of the adjoint backward, agreement with qadl's own gradients,
and the hybrid example training."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from qadl.interop.torch import QadlFunction, QadlLayer, qadl_layer  # noqa: E402

from .conftest import TINY  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hybrid_torch.py"


@pytest.mark.parametrize("output", ["probs", "readout"])
def test_gradcheck_passes_in_double_precision(tiny, output):
    """torch.autograd.gradcheck: the adjoint vjp equals finite differences for x and θ."""
    core = tiny.clf.core
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 16, dtype=torch.float64, generator=gen, requires_grad=True)
    theta = torch.tensor(tiny.clf.params, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: QadlFunction.apply(a, b, core, output), (x, theta), eps=1e-6, atol=1e-6
    )


def test_layer_gradients_equal_qadls_own(tiny):
    """Mean cross-entropy through the layer: dθ and dx equal QadlClassifier's gradients."""
    layer = QadlLayer(tiny.clf)
    x_np, y_np = tiny.test.x[:8], tiny.test.y[:8]
    x = torch.tensor(x_np, requires_grad=True)
    probs = layer(x)
    np.testing.assert_allclose(probs.detach().numpy(), tiny.clf.predict_proba(x_np), atol=1e-12)
    loss = torch.nn.functional.nll_loss(torch.log(probs), torch.tensor(y_np))
    loss.backward()
    np.testing.assert_allclose(
        layer.theta.grad.numpy(), tiny.clf.param_gradient(x_np, y_np), atol=1e-10
    )
    np.testing.assert_allclose(
        x.grad.numpy(), tiny.clf.input_gradients(x_np, y_np) / len(y_np), atol=1e-10
    )


def test_layer_trains_with_a_torch_optimizer(tiny):
    """Adam on the layer's θ lowers the training loss; float32 inputs keep their dtype."""
    layer = qadl_layer(TINY, "tiny")
    x = torch.tensor(tiny.train.x[:64], dtype=torch.float32)
    y = torch.tensor(tiny.train.y[:64])
    assert layer(x).dtype == torch.float32
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)

    def loss() -> torch.Tensor:
        return torch.nn.functional.nll_loss(torch.log(layer(x)), y)

    before = loss().item()
    for _ in range(10):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    assert loss().item() < before - 0.05
    np.testing.assert_allclose(layer.trained().params, layer.theta.detach().numpy())


def test_readout_output_and_bad_inputs(tiny):
    """``readout`` gives the readout values; wrong shapes and quantum-data models are refused."""
    layer = QadlLayer(tiny.clf, output="readout")
    x = tiny.test.x[:4]
    out = layer(torch.tensor(x))
    assert tuple(out.shape) == (4, layer.num_outputs)
    np.testing.assert_allclose(
        out.detach().numpy(), tiny.clf.core.sim.outputs(tiny.clf.params, x=x), atol=1e-12
    )
    assert tuple(layer(torch.tensor(x[0])).shape) == (layer.num_outputs,)
    with pytest.raises(ValueError, match=r"shape \(B, 16\)"):
        layer(torch.zeros(2, 15, dtype=torch.float64))
    with pytest.raises(ValueError, match="output must be"):
        QadlLayer(tiny.clf, output="logits")
    with pytest.raises(ValueError, match="reads input states"):
        qadl_layer(TINY.parent / "tiny_quantum.qadl")


def _example():
    spec = importlib.util.spec_from_file_location("hybrid_torch_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_hybrid_example_learns_quickly():
    """Encoder -> qadl circuit -> head, 2 epochs on 400 digits: above chance (0.1)."""
    assert _example().train(epochs=2, samples=400, verbose=False) > 0.25  # measured: 0.35


@pytest.mark.slow
def test_hybrid_example_reaches_its_stated_accuracy():
    """The example's docstring states 0.884 after 15 epochs (seed 0)."""
    assert _example().train(epochs=15, verbose=False) == pytest.approx(0.884, abs=0.02)
