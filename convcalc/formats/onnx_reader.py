"""An ONNX model -> ``Architecture``: the graph convcalc's YAML files load into.

The reader walks the ONNX nodes in topological order with a value for every tensor name:
- a network tensor (``Tensor``): which convcalc node produces it, its shape, and its layout
  (NCHW, a channels-last view after a Transpose, or a 5-D view inside a channel shuffle);
- a weight (``Weight``): an initializer, known only by its dims;
- a constant (a numpy array): a small initializer, a Constant node, or anything computed from
  constants and from shapes (Shape, Gather, Unsqueeze, Concat, Cast, ...), which the folder in
  ``onnx_ops`` evaluates once, so that no handler sees the plumbing.
Every other op goes to its handler in ``onnx_ops.HANDLERS``, which returns convcalc layers; an
op without one is a located error. Layer paths are the node names, made into dotted words.

Batch is 1 and tensors are NCHW. A model whose input has a symbolic or larger batch, or
symbolic height and width, is read at the size given with ``input`` (``--input``).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError
from convcalc.formats import onnx_ops
from convcalc.formats.onnx_arity import check_node
from convcalc.formats.onnx_eval import Evaluator, const_of
from convcalc.formats.onnx_ops import layouts
from convcalc.formats.onnx_proto import (
    CLASS_HIERARCHY,
    NAME_SCOPES,
    ModelProto,
    TensorProto,
    ValueInfoProto,
    read_model,
)
from convcalc.formats.onnx_values import (
    Axes,
    Emit,
    Env,
    OnnxNode,
    Tensor,
    Value,
    Weight,
    channels_first,
    features_last,
)
from convcalc.graph.architecture import NETWORK_INPUT, Architecture, Node
from convcalc.graph.layers import Layer, Merge
from convcalc.graph.shapes import Shape, parse_shape
from convcalc.limits import MAX_DIM, MAX_LAYERS


def read_onnx(path: str | Path, input: str | Shape | None = None, shown: str | None = None
              ) -> Architecture:
    """The architecture in an ONNX file, at the file's own input size or at ``input`` (a
    Shape, or --input's text: 'HxW', 'N' or 'HxWxC'), which is needed when the file's height,
    width or batch is symbolic. A graph with a fixed size is read at that size and then given
    ``input``, as ``with_input`` does for any architecture. ``shown`` is the file's name in
    error messages."""
    path = Path(path)
    shown = shown or str(path)
    model = read_model(path, shown)
    try:
        return _Reader(model, shown, input).architecture(path.stem)
    except ConvcalcError as e:
        raise e.located(file=shown) from None


_NOT_A_WORD = re.compile(r"[^A-Za-z0-9_]+")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_OP_NAME = re.compile(r"[A-Z][A-Za-z0-9]*(_\d+)?")


def layer_paths(name: str) -> list[str]:
    """Candidate layer paths for an ONNX node, best first: its name as a dotted path of words
    without the op type at the end ('Conv', 'Relu_1'), then with it. TorchScript names a node
    by its module scopes and op ('/layer1/layer1.0/conv1/Conv'), each scope repeating the one
    before it ('layer1', 'layer1.0'): that gives 'layer1.0.conv1', then 'layer1.0.conv1.Conv'."""
    scopes: list[str] = []
    for scope in name.split("/"):
        if scopes and scope.startswith(scopes[-1] + "."):
            scopes[-1] = scope
        elif scope:
            scopes.append(scope)
    words = [".".join(w for w in (_word(p) for p in scope.split(".")) if w) for scope in scopes]
    full = ".".join(w for w in words if w)
    if len(scopes) > 1 and _OP_NAME.fullmatch(scopes[-1]):
        return [".".join(w for w in words[:-1] if w), full]
    return [full] if full else []


# The items of a Python list of strings as the dynamo exporter writes it: "['', 'layer1']".
_QUOTED = re.compile(r"'([^'\\]*)'")
_COUNTER = re.compile(r"_\d+$")  # the dynamo exporter numbers ops: add, add_1, ...


def scope_paths(scopes: Sequence[str], classes: Sequence[str] = ()) -> list[str]:
    """Candidate layer paths for a node of the dynamo exporter, from its module scopes (each
    a full dotted module path), its op's name last, and their classes: ['', 'layer1',
    'layer1.0', 'layer1.0.conv1', 'conv2d'] gives 'layer1.0.conv1' for the op of a torch.nn
    layer (a Conv2d), and 'layer1.0.add' for a function called in a block's forward."""
    *modules, op_name = scopes
    module = next((m for m in reversed(modules) if m), "")
    words = ".".join(w for w in (_word(p) for p in module.split(".")) if w)
    op_word = _word(_COUNTER.sub("", op_name))
    if not words:
        return [op_word]
    owner = classes[-2] if len(classes) == len(scopes) >= 2 else ""
    if owner.startswith("torch.nn.modules.") and ".container." not in owner:
        return [words, f"{words}.{op_word}"]
    return [f"{words}.{op_word}", words]


def _word(text: str) -> str:
    return text if _WORD.fullmatch(text) else _NOT_A_WORD.sub("_", text).strip("_")


def _out_shape(layer: Layer | Merge, inputs: tuple[Shape, ...]) -> Shape:
    """The shape ``layer`` makes of ``inputs`` (only the shape: the analysis counts later)."""
    if isinstance(layer, Merge):
        return layer.out_shape(inputs)
    if len(inputs) != 1:
        raise ConvcalcError(f"a '{layer.kind}' layer reads one tensor, not {len(inputs)}")
    return layer.out_shape(inputs[0])


_SHARING: dict[type[Layer], type[Layer]] = {}


def sharing(layer: Layer, shared: int) -> Layer:
    """``layer`` with ``shared`` parameters left out of its count: they are initializers an
    earlier layer holds (a shared initializer counts once). The result is a subclass of the
    layer's own class with the extra field ``shared`` (hidden from YAML), so everything that
    reads the layer's kind and fields still does."""
    cls = type(layer)
    sub: Any = _SHARING.get(cls)
    if sub is None:
        def params(self: Any, x: Shape) -> int:
            return int(cls.params(self, x) - self.shared)

        namespace = {"__annotations__": {"shared": int}, "shared": 0, "params": params,
                     "yaml_hidden": (*getattr(cls, "yaml_hidden", ()), "shared"),
                     "__doc__": f"{cls.__name__} whose parameters are partly another's."}
        sub = _SHARING[cls] = dataclass(frozen=True, kw_only=True)(
            type(f"Shared{cls.__name__}", (cls,), namespace))
    values = {f.name: getattr(layer, f.name) for f in fields(layer)}
    made: Layer = sub(**values, shared=shared)
    return made


class _Reader:
    def __init__(self, model: ModelProto, file: str, input: str | Shape | None) -> None:
        assert model.graph is not None  # read_model refuses a model without one
        self.model = model
        self.graph = model.graph
        self.file = file
        self.requested = input
        self.values: dict[str, Value] = {}
        self.nodes: list[Node] = []
        self.index: dict[str, int] = {}
        self.layers: dict[str, Layer | Merge] = {}
        self.shapes: dict[str, Shape] = {}
        self.counted: dict[str, int] = {}  # initializer -> how many layers compute with it
        self.elements: dict[str, int] = {}
        self.readers: dict[str, int] = {}
        self.paths: set[str] = {NETWORK_INPUT}

    def architecture(self, name: str) -> Architecture:
        initializers = {t.name for t in self.graph.initializers}
        for tensor in self.graph.initializers:
            self.values[tensor.name] = self._weight(tensor)
        inputs = [i for i in self.graph.inputs if i.name not in initializers]
        if len(inputs) != 1:
            raise ConvcalcError(f"has {len(inputs)} inputs "
                                f"({', '.join(i.name for i in inputs) or 'none'}); convcalc "
                                "reads networks with one input image")
        shape = self._input_shape(inputs[0])
        self.shapes[NETWORK_INPUT] = shape
        self.values[inputs[0].name] = network_input = Tensor(NETWORK_INPUT, shape)
        order = onnx_ops.fuse(self._ordered(), self.values)
        for node in order:
            for n in node.inputs:
                self.readers[n] = self.readers.get(n, 0) + 1
        for out in self.graph.outputs:
            self.readers[out.name] = self.readers.get(out.name, 0) + 1
        recorded = {} if self.requested not in (None, shape) else {
            v.name: tuple(d for d in v.dims if isinstance(d, int))
            for v in (*self.graph.value_info, *self.graph.outputs)
            if v.dims and all(isinstance(d, int) and d >= 0 for d in v.dims)}
        env = self.env = Env(self.values, self.layers, self.readers, recorded)
        self.evaluator = Evaluator()
        if shape.is_image:
            env.latest[shape.hw] = network_input
        for node in order:
            self._convert(node, env)
        outputs = []
        for out in self.graph.outputs:
            value = self.values.get(out.name)
            if not isinstance(value, Tensor) or value.path == NETWORK_INPUT:
                raise ConvcalcError(f"output '{out.name}' is not computed by any layer")
            outputs.append(self._as_given(out.name, value).path)
        producer = " ".join(p for p in (self.model.producer_name,
                                        self.model.producer_version) if p)
        arch = Architecture(
            name=name, description=f"imported from {Path(self.file).name}"
            + (f" (made by {producer})" if producer else ""),
            source=Path(self.file).name, input=shape, nodes=tuple(self.nodes), file=self.file,
            outputs=tuple(dict.fromkeys(outputs)), notes=self._notes())
        if isinstance(self.requested, Shape) and self.requested != shape:
            # A graph exported at a fixed size holds that size in its shape constants: read it
            # there, then change the input as for any architecture.
            from convcalc.analysis.variants import with_input

            arch = with_input(arch, self.requested)
        return arch

    def _as_given(self, name: str, value: Tensor) -> Tensor:
        """An output that is no image nor flat vector, in the order of its ONNX dims (YOLO's
        [84, 8400], not the [8400, 84] its channels-first layout holds): a transpose row at
        the end when it is held in another order, so that its shape is the model's own."""
        if value.shape.rank in (1, 3) and value.layout == "nchw":
            return value
        rows, _ = layouts.contiguous(value, suffix="")
        if not rows:
            return value
        made = self._emit(OnnxNode(name, "Transpose", (name,), (name,), {}), rows)[0]
        assert isinstance(made, Tensor)  # the rows make a tensor
        return made

    def _notes(self) -> tuple[str, ...]:
        """One line when initializers are read by more than one layer: the TorchScript exporter
        merges equal tensors (an untrained model is full of them: zero-initialised batch norms,
        zero biases), and params then count each merged tensor once, below torch's count. One
        line when initializers were read as buffers (no params)."""
        notes = []
        shared = [name for name, n in self.counted.items() if n > 1]
        if shared:
            values = sum(self.elements[name] for name in shared)
            notes.append(f"{len(shared):,} initializers ({values:,} values) are each read by "
                         "more than one layer; params count each once. If the exporter merged "
                         "equal tensors, torch counts more: export with the dynamo exporter, "
                         "with trained weights, or with do_constant_folding=False in training "
                         "mode for torch's count")
        # Initializers in element-wise arithmetic that no layer counted: buffers, as YOLO's
        # anchors and strides are; a learned tensor used so would be params torch counts.
        # (A Constant node's tensor is never a parameter.)
        initializers = {t.name for t in self.graph.initializers}
        buffers = sorted(name for name in self.env.buffers
                         if name in initializers and name not in self.counted)
        if buffers:
            values = sum(self.env.buffers[name] for name in buffers)
            one = len(buffers) == 1
            notes.append(f"{len(buffers):,} initializer{'' if one else 's'} ({values:,} values) "
                         f"in element-wise arithmetic {'is' if one else 'are'} read as "
                         f"{'a buffer' if one else 'buffers'}, not params ({', '.join(buffers[:3])}"
                         f"{', ...' if len(buffers) > 3 else ''}); if they are learned, torch "
                         f"counts {values:,} params more")
        return tuple(notes)

    def _weight(self, tensor: TensorProto) -> Weight:
        for d in tensor.dims:
            if not 0 <= d <= MAX_DIM:
                raise ConvcalcError(f"initializer '{tensor.name}' has a dim of {d:,}; dims "
                                    f"must be between 0 and {MAX_DIM:,}")
        return Weight(tensor.name, tensor.dims, const_of(tensor))

    def _input_shape(self, value_info: ValueInfoProto) -> Shape:
        dims = list(value_info.dims or ())
        shown = "x".join(str(d) for d in dims)
        if len(dims) != 4:
            raise ConvcalcError(f"input '{value_info.name}' has dims {shown}; convcalc reads "
                                "one NCHW image (batch x channels x height x width)")
        channels = dims[1]
        if not isinstance(channels, int) or not 1 <= channels <= MAX_DIM:
            raise ConvcalcError(f"input '{value_info.name}' has {channels} channels; export "
                                "the model with a fixed channel count")
        if isinstance(self.requested, str):
            self.requested = parse_shape(self.requested, channels=channels)
        if self.requested is not None and self.requested.c != channels:
            raise ConvcalcError(f"--input {self.requested} has {self.requested.c} channels "
                                f"but the model's input has {channels}")
        if dims[0] != 1 or not all(isinstance(d, int) and d > 0 for d in dims[2:]):
            if self.requested is not None:
                return self.requested
            raise ConvcalcError(f"input '{value_info.name}' has dims {shown} (batch x channels "
                                "x height x width); convcalc counts one image: give its size "
                                "with --input HxW")
        h, w = int(dims[2]), int(dims[3])
        for d in (h, w):
            if d > MAX_DIM:
                raise ConvcalcError(f"input size {d:,} is above {MAX_DIM:,}")
        return Shape(h, w, channels)

    def _ordered(self) -> list[OnnxNode]:
        """The nodes in an order where each comes after the nodes it reads; a cycle or an
        input nobody makes is an error naming the node."""
        nodes = [OnnxNode(n.name, n.op_type, n.inputs, n.outputs, n.attributes,
                          tuple(_QUOTED.findall(n.metadata.get(NAME_SCOPES, ""))),
                          tuple(_QUOTED.findall(n.metadata.get(CLASS_HIERARCHY, ""))))
                 for n in self.graph.nodes]
        if len(nodes) > MAX_LAYERS:
            raise ConvcalcError(f"has {len(nodes):,} nodes, more than {MAX_LAYERS:,}")
        producer: dict[str, int] = {}
        for i, n in enumerate(nodes):
            for out in n.outputs:
                if out:
                    producer[out] = i
        order: list[OnnxNode] = []
        state = [0] * len(nodes)  # 0 new, 1 on the stack, 2 done
        for root in range(len(nodes)):
            stack = [(root, 0)]
            while stack:
                i, k = stack.pop()
                if k == 0:
                    if state[i] == 2:
                        continue
                    state[i] = 1
                names = nodes[i].inputs
                while k < len(names) and (not names[k] or (names[k] in self.values
                                                           and names[k] not in producer)):
                    k += 1
                if k == len(names):
                    state[i] = 2
                    order.append(nodes[i])
                    continue
                stack.append((i, k + 1))
                source = producer.get(names[k])
                if source is None:
                    raise ConvcalcError(
                        f"reads '{names[k]}', which no node makes and no initializer or input "
                        "holds (a missing initializer?)", path=self._shown(nodes[i]),
                        kind=nodes[i].op_type)
                if state[source] == 1:
                    raise ConvcalcError(f"is part of a cycle (it reads '{names[k]}', made "
                                        "after it); a network is acyclic",
                                        path=self._shown(nodes[i]), kind=nodes[i].op_type)
                if state[source] == 0:
                    stack.append((source, 0))
        return order

    @staticmethod
    def _shown(node: OnnxNode) -> str:
        return node.name or (node.outputs[0] if node.outputs else node.op_type)

    def _path(self, node: OnnxNode) -> str:
        candidates = [p for p in (scope_paths(node.scopes, node.classes) if node.scopes
                                  else layer_paths(node.name)) if p]
        for path in candidates:
            if path not in self.paths:
                return path
        if node.scopes and candidates:
            # A module called more than once (torchvision's one ReLU per block): its calls
            # numbered in the module's place, where --depth folds them.
            n = 1
            while f"{candidates[0]}_{n}" in self.paths:
                n += 1
            return f"{candidates[0]}_{n}"
        fallbacks = [*layer_paths(node.outputs[0] if node.outputs else ""),
                     node.op_type.lower()]
        for path in fallbacks:
            if path and path not in self.paths:
                return path
        return f"{(candidates or fallbacks)[0]}_{len(self.nodes)}"

    def _convert(self, node: OnnxNode, env: Env) -> None:
        try:
            check_node(node)
            values = [env.value(n) for n in node.inputs]
            folded = onnx_ops.fold(node, values, self.evaluator)
            if folded is not None:
                results: Sequence[Value] = folded
            else:
                handler = onnx_ops.HANDLERS.get(node.op_type)
                if handler is None:
                    raise ConvcalcError(
                        f"ONNX op '{node.op_type}' is not supported by convcalc (node "
                        f"'{self._shown(node)}'); supported: "
                        f"{', '.join(sorted(onnx_ops.HANDLERS))}")
                results = self._emit(node, handler(node, env))
        except ConvcalcError as e:
            raise e.located(path=self._shown(node), kind=node.op_type) from None
        for name, value in zip(node.outputs, results, strict=False):
            if name:
                self.values[name] = value

    def _shared(self, emit: Emit) -> Emit:
        """``emit`` with its layer counting only initializers no earlier layer counted."""
        # A weight computed from initializers counts those (each once), not its own dims.
        leaves = {w.name: w for given in emit.weights for w in given.leaves()}
        new = [w for name, w in leaves.items() if name not in self.counted]
        shared = sum(w.elements for w in emit.weights) - sum(w.elements for w in new)
        for name, w in leaves.items():
            self.counted[name] = self.counted.get(name, 0) + 1
            self.elements[name] = w.elements
        if not shared or not isinstance(emit.layer, Layer):
            return emit
        return replace(emit, layer=sharing(emit.layer, shared))

    def _emit(self, node: OnnxNode, result: Any) -> Sequence[Value]:
        """Add the layers a handler returned as nodes; the values of the node's outputs."""
        if not isinstance(result, list):
            return tuple(result)
        base = self._path(node)
        previous: Tensor | None = None
        outputs: dict[int, Value] = {}
        made: dict[int, Tensor] = {}  # id of an Emit -> the tensor it made
        for given in result:
            emit = self._shared(given)
            if emit.replaces is not None:
                index = self.index[emit.replaces.path]
                old = self.nodes[index]
                shapes = tuple(self.shapes[p] for p in old.inputs)
                self.nodes[index] = Node(old.path, old.line, emit.layer, old.inputs)
                self.layers[old.path] = emit.layer
                previous = replace(emit.replaces, shape=_out_shape(emit.layer, shapes))
                self.shapes[old.path] = previous.shape
            else:
                sources = tuple(made[id(s)] if isinstance(s, Emit) else s
                                for s in emit.inputs) if emit.inputs is not None else (
                    (previous,) if previous is not None else ())
                output = _out_shape(emit.layer, tuple(s.shape for s in sources))
                path = f"{base}.{emit.suffix}" if emit.suffix else base
                if path in self.paths:
                    path = f"{path}_{len(self.nodes)}"
                self.index[path] = len(self.nodes)
                self.nodes.append(Node(path, None, emit.layer, tuple(s.path for s in sources)))
                self.layers[path] = emit.layer
                self.paths.add(path)
                self.shapes[path] = output
                previous = Tensor(path, output, emit.axes or _axes(sources, output))
                if output.is_image:
                    self.env.latest[output.hw] = previous
            made[id(given)] = previous
            if emit.output is not None:
                outputs[emit.output] = previous
        if not outputs and previous is not None:
            outputs[0] = previous
        return [outputs.get(i) for i in range(len(node.outputs))]


def _axes(sources: tuple[Tensor, ...], output: Shape) -> Axes:
    """The ONNX axes of a layer's output: its first input's when the layer keeps the rank (an
    element-wise layer, a dense layer on the last axis, a convolution), else channels first for
    an image and features last otherwise (a flat vector, tokens)."""
    first = sources[0] if sources else None
    if first is not None and not first.view and first.shape.rank == output.rank:
        return first.axes
    return channels_first(3) if output.is_image else features_last(output.rank)
