"""The ONNX graph the writer builds (``onnx_writer``): nodes, seeded initializers and the layout
of convcalc's shapes in ONNX tensors.

Tensors are torch's layout of convcalc's shapes with the batch first, as the PyTorch writer
writes them: an image [h, w, c] is NCHW, any other rank keeps convcalc's order (tokens [n, d]
are [batch, n, d], a flat vector [batch, c]). Kinds that work on dims by number run on the
channels-last view of an image (``last``) and permute back (``back``).
"""

from collections.abc import Callable
from typing import Any

from convcalc.analysis.report import LayerRow
from convcalc.graph.shapes import Shape


class OnnxGraph:
    """The nodes and initializers written so far, and the seeded generator of weights."""

    def __init__(self, onnx: Any, batch: int, seed: int) -> None:
        import numpy as np

        self.onnx = onnx
        self.np = np
        self.batch = batch
        self.rng = np.random.default_rng(seed)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()  # of values: node outputs and initializers

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        """Add one node; returns its output's name: ``output``, or ``output_1``, ... when a
        value has it."""
        output = self.unique(output)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def unique(self, name: str, separator: str = "_") -> str:
        """``name``, or ``name_1``, ``name_2``, ... when a value (a node's output or an
        initializer) has it; taken from then on."""
        base, k = name, 0
        while name in self.names:
            k += 1
            name = f"{base}{separator}{k}"
        self.names.add(name)
        return name

    def step(self, path: str, op: str, inputs: list[str], **attrs: Any) -> str:
        """Add a helper node of the row ``path``, named ``PATH/Op`` (``PATH/Op_1``, ... when
        taken), as torch's exporter names the ops of a module; returns its output name."""
        name = self.unique(f"{path}/{op}")
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def constant(self, name: str, values: Any, dtype: str = "float32") -> str:
        """Add an initializer holding ``values``; returns its (unique) name."""
        array = self.np.asarray(values, dtype=dtype)
        name = self.unique(name, ".")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def ints(self, name: str, values: list[int] | int) -> str:
        """Add an int64 initializer (shapes, axes, indices); returns its name."""
        return self.constant(name, values, dtype="int64")

    def fixed(self, path: str, values: Any) -> str:
        """A float tensor the model computes with but does not learn, as a ``Constant`` node
        (as torch's exporter writes group norm's unit scale): not an initializer, so not a
        parameter; returns its name."""
        array = self.np.asarray(values, dtype="float32")
        return self.step(path, "Constant", [], value=self.onnx.numpy_helper.from_array(array))

    def random(self, name: str, dims: tuple[int, ...], std: float) -> str:
        """Add an initializer of normal values with standard deviation ``std``, drawn as
        float32 in place (a float64 draw of ViT-L's 304M weights took three times the time and
        memory)."""
        values = self.rng.standard_normal(dims, dtype=self.np.float32)
        values *= std
        return self.constant(name, values)

    def dims(self, shape: Shape) -> list[int]:
        """The dims of a tensor of ``shape`` at the batch: NCHW for an image, else the batch
        and convcalc's dims."""
        return [self.batch, shape.c, *shape.hw] if shape.is_image else [self.batch, *shape.dims]

    def last(self, path: str, x: str, shape: Shape, rank: int | None = None) -> str:
        """``x`` in convcalc's order after the batch (an NCHW image transposed to NHWC), with
        dims of 1 after the batch up to ``rank`` dims, to broadcast as convcalc aligns dims."""
        if shape.is_image:
            x = self.step(path, "Transpose", [x], perm=[0, 2, 3, 1])
        extra = (rank or shape.rank) - shape.rank
        if extra:
            axes = self.ints(f"{path}.axes", list(range(1, extra + 1)))
            x = self.step(path, "Unsqueeze", [x, axes])
        return x

    def back(self, path: str, x: str, shape: Shape) -> str:
        """A tensor of ``shape`` in convcalc's order back in this layout (an image to NCHW)."""
        return self.step(path, "Transpose", [x], perm=[0, 3, 1, 2]) if shape.is_image else x

    def features_first(self, path: str, x: str, shape: Shape) -> str:
        """A tensor that is not an image as [batch, d, positions, 1], its features where ONNX's
        normalisations read channels (the PyTorch writer's ``_on_features``)."""
        flat = self.step(path, "Reshape", [x, self.ints(f"{path}.positions",
                                                         [self.batch, -1, shape.c])])
        return self.step(path, "Transpose", [self.step(path, "Unsqueeze", [
            flat, self.ints(f"{path}.one", [3])])], perm=[0, 2, 1, 3])

    def features_back(self, path: str, x: str, shape: Shape) -> str:
        """The inverse of ``features_first``: [batch, d, positions, 1] back to ``shape``."""
        t = self.step(path, "Transpose", [x], perm=[0, 2, 1, 3])
        return self.step(path, "Reshape", [t, self.ints(f"{path}.shape", self.dims(shape))])


Writer = Callable[[OnnxGraph, LayerRow, list[str]], str]
