"""A qadl model as a PyTorch layer whose backward pass is qadl's adjoint vector-Jacobian product.

``QadlLayer`` is a ``torch.nn.Module`` holding θ as a ``Parameter``; its forward maps
feature rows ``(B, F)`` to class probabilities ``(B, C)`` (or the raw readout values),
so a quantum circuit sits between classical layers and trains with any torch optimizer.
The simulation runs on the CPU in float64 (a batch at a time, no graph inside); the
gradients for θ and for the inputs come from one adjoint sweep. Needs
``pip install qadl[torch]``.

Example::

    from qadl.interop.torch import qadl_layer

    layer = qadl_layer("model.qadl", "m")   # θ: where `qadl run` starts training
    probs = layer(torch.rand(8, layer.num_features, dtype=torch.float64))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from qadl.api_model import QadlClassifier
from qadl.interop._seam import classifier_of, feature_width
from qadl.learn.classifier import Classifier
from qadl.learn.readout import class_probs, class_probs_vjp
from qadl.program import Program

__all__ = ["OUTPUTS", "QadlFunction", "QadlLayer", "qadl_layer"]

Output = Literal["probs", "readout"]
OUTPUTS = ("probs", "readout")
"""``probs``: class probabilities; ``readout``: the readout values before the class map
(expectation values, or outcome probabilities), e.g. to feed a classical head."""


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


class QadlFunction(torch.autograd.Function):
    """``(x, θ) -> outputs`` of a classifier; backward: the adjoint vjp for x and θ."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, theta: torch.Tensor, classifier: Classifier, output: str
    ) -> torch.Tensor:
        xs, th = _numpy(x), _numpy(theta)
        raw = classifier.sim.outputs(th, x=xs)
        result = (
            class_probs(classifier.readout, raw, scale=classifier.scale)
            if output == "probs"
            else raw
        )
        ctx.classifier, ctx.output = classifier, output
        ctx.arrays = (xs, th, raw)
        ctx.meta = (x.dtype, x.device, theta.dtype, theta.device)
        return torch.from_numpy(np.ascontiguousarray(result)).to(dtype=x.dtype, device=x.device)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor):  # type: ignore[override]
        clf: Classifier = ctx.classifier
        xs, th, raw = ctx.arrays
        x_dtype, x_device, th_dtype, th_device = ctx.meta
        g = _numpy(grad_out)
        cot = class_probs_vjp(clf.readout, raw, g, scale=clf.scale) if ctx.output == "probs" else g
        grads = clf.sim.vjp(th, x=xs, cotangent=cot, method="adjoint")
        gx = gth = None
        if ctx.needs_input_grad[0]:
            gx = torch.from_numpy(np.asarray(grads.x)).to(dtype=x_dtype, device=x_device)
        if ctx.needs_input_grad[1]:
            gth = torch.from_numpy(np.asarray(grads.theta)).to(dtype=th_dtype, device=th_device)
        return gx, gth, None, None


class QadlLayer(torch.nn.Module):
    """A qadl classifier with trainable θ, as a torch module: ``(B, F) -> (B, C or K)``."""

    def __init__(
        self,
        classifier: QadlClassifier,
        *,
        output: Output = "probs",
        dtype: torch.dtype = torch.float64,
    ) -> None:
        """
        Args:
            classifier: ``program.classifier(name, params)``; its θ initialises the
                ``theta`` Parameter.
            output: ``probs`` (class probabilities) or ``readout`` (readout values).
            dtype: dtype of the ``theta`` Parameter (the simulation itself is float64).
        """
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, not {output!r}")
        self.num_features = feature_width(classifier, "QadlLayer")
        self.classifier = classifier
        self.output = output
        self.theta = torch.nn.Parameter(torch.as_tensor(classifier.params, dtype=dtype).clone())

    @property
    def num_outputs(self) -> int:
        """C for ``probs``, the number of readout values for ``readout``."""
        if self.output == "probs":
            return int(self.classifier.num_classes)
        return int(self.classifier.core.sim.num_outputs)

    def trained(self) -> QadlClassifier:
        """The qadl classifier at the layer's current θ (to save, attack or export it)."""
        return self.classifier.with_params(self.theta.detach().cpu().double().numpy())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(B, num_outputs)`` of feature rows ``(B, F)`` (one row ``(F,)``: 1-D)."""
        single = x.dim() == 1
        rows = x.unsqueeze(0) if single else x
        if rows.dim() != 2 or rows.shape[1] != self.num_features or rows.shape[0] == 0:
            raise ValueError(
                f"expected inputs of shape (B, {self.num_features}), got {tuple(x.shape)}"
            )
        out = QadlFunction.apply(rows, self.theta, self.classifier.core, self.output)
        return out[0] if single else out

    def extra_repr(self) -> str:
        return (
            f"model={self.classifier.name}, features={self.num_features}, "
            f"params={self.theta.numel()}, output={self.output}, outputs={self.num_outputs}"
        )


def qadl_layer(
    program: Program | str | Path,
    model: str | None = None,
    *,
    params: Any = None,
    output: Output = "probs",
    dtype: torch.dtype = torch.float64,
) -> QadlLayer:
    """The torch layer of a program's model, its simulator built as ``qadl run`` builds it.

    Args:
        program: a ``Program`` or the path of a ``.qadl`` file.
        model: a model (or ``defend … as``) name; default the program's only/first model.
        params: initial θ as an array, a ``qadl.runs.Run`` (its trained θ), or None
            (the θ ``qadl run`` starts training from).
        output: ``probs`` or ``readout`` (see ``OUTPUTS``).
        dtype: dtype of the θ Parameter.
    """
    return QadlLayer(classifier_of(program, model, params), output=output, dtype=dtype)
