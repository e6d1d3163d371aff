"""Block and scale expansion: an architecture document (already read by ``yaml_reader``) to the
graph of named layers, with blocks called with arguments, repeats, conditions, residual /
concat / side branches, ``from:`` references and the named scale ``declarations`` read."""

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convcalc.errors import ConvcalcError, one_line
from convcalc.formats.arguments import (
    _argument,
    _candidates,
    _coerce,
    _Lazy,
    _lazy_sources,
    _near,
    _parts,
    _referenced,
    field_types,
)
from convcalc.formats.declarations import (
    GRAPH_KINDS,
    RESERVED,
    Scale,
    is_layer_name,
    read_blocks,
    read_defaults,
    read_input,
    read_scale,
    scaled_name,
)
from convcalc.formats.yaml_reader import YList, YMap, as_mapping, as_sequence, check_keys
from convcalc.graph import expr
from convcalc.graph.architecture import NETWORK_INPUT, Architecture, Node
from convcalc.graph.expr import is_name
from convcalc.graph.layers import (
    FAMILIAR_NAMES,
    LAYER_KINDS,
    Add,
    Concat,
    Deferred,
    Layer,
    Merge,
    Shortcut,
    yaml_keys,
)
from convcalc.graph.shapes import Shape
from convcalc.limits import MAX_NESTING, MAX_REPEAT, Budget

TOP_KEYS = ("name", "description", "source", "input", "channel_divisor", "defaults", "blocks",
            "layers", "outputs", "scales")


BODY_KEYS = ("name", "layers", "shortcut", "after")


SHORTCUTS = ("auto", "identity", "projection", "if_same")


ITEM_MODIFIERS = ("repeat", "first", "scale_repeat", "if")


# A split's own path names no tensor: its sections PATH.0, PATH.1, ... do.
_SPLIT = "\0split"


class _Context:
    """Where a sequence of items is expanded: its path ``prefix`` (also where relative 'from:'
    names are looked up first), the tensor ``in`` stands for, the block parameters, whether it
    is a side branch, the lines of the items it is nested in, and the set collecting the kinds
    of the layers directly in it (a residual's projection adds batch norm when its main path
    has one). A plain class, like ``_Lazy``."""

    __slots__ = ("block_input", "kinds", "lines", "prefix", "scope", "side")

    def __init__(self, prefix: str, block_input: str, scope: Mapping[str, Any], side: bool,
                 lines: tuple[int, ...], kinds: set[str]) -> None:
        self.prefix, self.block_input, self.scope = prefix, block_input, scope
        self.side, self.lines, self.kinds = side, lines, kinds

    def inside(self, prefix: str, block_input: str, line: int, *,
               scope: Mapping[str, Any] | None = None, side: bool | None = None,
               kinds: set[str] | None = None) -> "_Context":
        """The context of a sequence nested in this one."""
        return _Context(prefix, block_input, self.scope if scope is None else scope,
                        self.side if side is None else side, (*self.lines, line),
                        set() if kinds is None else kinds)


class _Expander:
    """Expands one parsed file into graph nodes: blocks, repeats, conditions, defaults, paths,
    and the tensors each layer reads."""

    def __init__(self, doc: YMap, file: str, budget: Budget, depth: float = 1.0,
                 scale: str | None = None) -> None:
        self.doc, self.file = doc, file
        self.budget = budget
        self.depth_multiplier = depth
        self.scale_name = scale
        self.scale = Scale()  # the named scale's settings, once read
        self.calls: list[str] = []  # the chain of blocks being expanded, to catch cycles
        self.nesting = 0  # block calls and nested sequences entered, across blocks
        self.claims: dict[str, tuple[int, ...]] = {}  # path -> the item lines that made it
        self.nodes: list[Node] = []
        self.tensors: dict[str, str] = {NETWORK_INPUT: NETWORK_INPUT}  # name -> tensor path
        self.unresolved: list[tuple[str, tuple[str, ...], ConvcalcError]] = []

    def architecture(self) -> Architecture:
        doc = self.doc
        check_keys(doc, TOP_KEYS, "the architecture")
        for key in ("input", "layers"):
            if key not in doc:
                raise ConvcalcError(f"needs a top-level '{key}'", line=1)
        self.defaults = read_defaults(doc.get("defaults"), doc.key_lines.get("defaults"))
        self.blocks = read_blocks(doc.get("blocks"), doc.key_lines.get("blocks"))
        divisor = doc.get("channel_divisor", 1)
        if type(divisor) is not int or not 1 <= divisor <= 1024:
            raise ConvcalcError(f"channel_divisor {divisor!r} must be a whole number from 1 "
                                "to 1024", line=doc.key_lines.get("channel_divisor"))
        layers_line = doc.key_lines["layers"]
        layers = as_sequence(doc["layers"], "'layers'", layers_line)
        text = {k: doc.get(k, "") for k in ("name", "description", "source")}
        for key, value in text.items():
            if not isinstance(value, str):
                raise ConvcalcError(f"'{key}' must be text", line=doc.key_lines[key])
        scale = self.scale = read_scale(doc.get("scales"), doc.key_lines.get("scales"),
                                        self.scale_name, self.blocks)
        self.depth_multiplier *= scale.depth
        top = _Context("", NETWORK_INPUT, {}, False, (), set())
        self._sequence(layers, top, NETWORK_INPUT, 0)
        self._check_unresolved()
        outputs = self._outputs(doc.get("outputs"), doc.key_lines.get("outputs"))
        # A file name may hold what a name in the file may not (ESC): escaped.
        name = text["name"] or one_line(Path(self.file).stem)
        try:
            arch = Architecture(
                name=scaled_name(name, self.scale_name) if self.scale_name else name,
                description=" ".join(text["description"].split()),
                source=" ".join(text["source"].split()),
                input=read_input(doc["input"], doc.key_lines["input"]),
                nodes=tuple(self.nodes),
                file=self.file,
                channel_divisor=divisor,
                outputs=outputs,
            )
        except ConvcalcError as e:
            raise e.located(line=doc.key_lines.get("outputs", layers_line)) from None
        if scale.input is not None:
            arch = dataclasses.replace(arch, input=scale.input)
        if scale.width != 1 or scale.cap is not None:
            from convcalc.analysis.variants import with_width  # the one width rule

            # A named scale is the network its name says (efficientnet_b3), not a variant.
            arch = dataclasses.replace(with_width(arch, scale.width, scale.cap), name=arch.name)
        return arch

    def _outputs(self, value: Any, line: int | None) -> tuple[str, ...]:
        if value is None:
            return ()
        names = value if isinstance(value, YList) else [value]
        if not names or not all(isinstance(n, str | int) for n in names):
            raise ConvcalcError("'outputs' must be a list of layer paths", line=line)
        out = []
        for name in names:
            tensor = self.tensors.get(str(name))
            if tensor is None or tensor == _SPLIT:
                raise ConvcalcError(f"output '{name}' is no layer of this network"
                                    f"{_near(str(name), self.tensors)}", line=line)
            out.append(tensor)
        return tuple(out)

    # -- items -------------------------------------------------------------------------------

    def _enter(self, line: int) -> None:
        """One more level of nesting (a block call or a nested sequence), counted across
        blocks, so that no file can exhaust the stack however its blocks call each other."""
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ConvcalcError(f"blocks and nested layer lists go deeper than {MAX_NESTING} "
                                "levels", line=line)

    def _sequence(self, items: YList, ctx: _Context, source: str | None,
                  first_index: int) -> str | None:
        """Expand a list of items reading ``source``; each item reads the one before unless
        it says 'from:'. The tensor the last item produces (None right after a split)."""
        current = source
        for index, item in enumerate(items):
            line = items.lines[index]
            kind, body, modifiers = self._split_item(item, line, ctx.scope)
            name = body.get("name") if body is not None else None
            if type(name) is int and name >= 0:  # a number, as a repeat names its copies
                name = str(name)
            if name is not None and (not isinstance(name, str) or not is_layer_name(name)):
                raise ConvcalcError(f"name {name!r} must be a word (letters, digits, _) or a "
                                    f"whole number, other than {' and '.join(RESERVED)}",
                                    line=body.key_lines["name"] if body else line)
            path = f"{ctx.prefix}.{name or first_index + index}".lstrip(".")
            self.budget.charge("items", line=line)  # skipped or empty ones too
            if "if" in modifiers and not self._condition(modifiers["if"], ctx,
                                                         modifiers.key_lines["if"]):
                continue
            if "repeat" not in modifiers:
                for key in ("first", "scale_repeat"):
                    if key in modifiers:
                        raise ConvcalcError(f"'{key}' goes with 'repeat'", line=line)
                current = self._item(kind, body, ctx, path, line, current)
                continue
            count = self._repeat_count(modifiers, ctx.scope)
            first = as_mapping(modifiers.get("first"), "'first'", line)
            for copy in range(count):
                if copy:
                    self.budget.charge("items", line=line)
                merged = body
                if copy == 0 and first:
                    merged = YMap({**(body or {}), **first})
                    merged.line = line
                    merged.key_lines = {**(body.key_lines if body else {}), **first.key_lines}
                current = self._item(kind, merged, ctx, f"{path}.{copy}", line, current)
            self._alias(path, current)  # a repeated item's path names its last copy
        return current

    def _split_item(self, item: Any, line: int,
                    scope: Mapping[str, Any]) -> tuple[str, YMap | None, YMap]:
        """(kind, its arguments, the modifiers) of one list item; a kind named by a block
        argument (``act: hardswish``, then ``- act``) is replaced by the argument's value."""
        if isinstance(item, str):
            empty = YMap()
            empty.line, empty.key_lines = line, {}
            return self._kind_argument(item, scope, line), None, empty
        if not isinstance(item, YMap):
            raise ConvcalcError(f"a layer must be a kind such as 'relu' or a mapping such as "
                                f"'conv: {{...}}', not {item!r}", line=line)
        kinds = [k for k in item if k not in ITEM_MODIFIERS]
        if len(kinds) != 1:
            raise ConvcalcError(
                "a layer item needs exactly one layer kind or block name, found "
                + (", ".join(f"'{k}'" for k in kinds) or "none"), line=line)
        modifiers = YMap({k: item[k] for k in ITEM_MODIFIERS if k in item})
        modifiers.line, modifiers.key_lines = line, item.key_lines
        body = item[kinds[0]]
        if body is not None and not isinstance(body, YMap):
            raise ConvcalcError(f"'{kinds[0]}' must be followed by a mapping of its settings, "
                                f"not {body!r}", line=item.key_lines[kinds[0]])
        return self._kind_argument(kinds[0], scope, line), body, modifiers

    def _kind_argument(self, kind: str, scope: Mapping[str, Any], line: int) -> str:
        """A kind written as a block argument's name stands for the argument's value; a real
        kind or block name keeps its meaning (an argument may be called 'dropout')."""
        if kind in scope and kind not in LAYER_KINDS and kind not in self.blocks and (
                kind not in GRAPH_KINDS):
            value = scope[kind]
            if not isinstance(value, str) or not is_name(value):
                raise ConvcalcError(f"'{kind}' is used as a layer kind, but the argument is "
                                    f"{value!r}, not a kind or block name", line=line)
            return value
        return kind

    def _condition(self, value: Any, ctx: _Context, line: int) -> bool:
        try:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value in ctx.scope and isinstance(
                    ctx.scope[value], bool):
                return bool(ctx.scope[value])
            if not isinstance(value, str):
                raise ConvcalcError(f"if {value!r} must be true, false or a formula such as "
                                    "'expansion != 1'")
            if _lazy_sources(value, ctx.scope, ctx.block_input):
                raise ConvcalcError(f"if '{value}' reads the input shape; 'if:' may read only "
                                    "block arguments")
            return expr.condition(value, ctx.scope)
        except ConvcalcError as e:
            raise e.located(line=line) from None

    def _repeat_count(self, modifiers: YMap, scope: Mapping[str, Any]) -> int:
        line = modifiers.key_lines["repeat"]
        try:
            value = modifiers["repeat"]
            if isinstance(value, str) and _lazy_sources(value, scope, ""):
                raise ConvcalcError(f"repeat '{value}' reads the input shape; a repeat count "
                                    "may read only block arguments")
            count: int = _coerce(value, int, scope, "repeat")
            scaled = modifiers.get("scale_repeat", True)
            if not isinstance(scaled, bool):
                raise ConvcalcError(f"scale_repeat {scaled!r} must be true or false")
        except ConvcalcError as e:
            raise e.located(line=line) from None
        if not 1 <= count <= MAX_REPEAT:
            raise ConvcalcError(f"repeat {count} must be between 1 and {MAX_REPEAT:,}", line=line)
        if scaled and self.depth_multiplier != 1:
            # EfficientNet's depth rule: int(math.ceil(num_layers * depth_mult)).
            count = math.ceil(count * self.depth_multiplier)
            if count > MAX_REPEAT:
                raise ConvcalcError(f"repeat {count} (scaled by the depth multiplier) is more "
                                    f"than {MAX_REPEAT:,}", line=line)
        return count

    def _item(self, kind: str, body: YMap | None, ctx: _Context, path: str, line: int,
              current: str | None) -> str | None:
        body = as_mapping(body, f"'{kind}'", line)
        sources = self._from(body, ctx, current, path, kind, line)
        if kind == "concat" and "branches" in body:
            check_keys(body, ("name", "from", "branches"), "'concat'")
            return self._branches(body.get("branches"), body.key_lines.get("branches", line),
                                  ctx, path, line, self._one(sources, path, kind, line))
        if kind in LAYER_KINDS:
            return self._layer(kind, body, ctx, path, line, sources)
        if kind in self.blocks:
            out = self._call_block(kind, body, ctx, path, line,
                                   self._one(sources, path, kind, line))
        elif kind in ("residual", "group"):
            check_keys(body, ("from", *BODY_KEYS) if kind == "residual" else
                        ("name", "from", "layers"), f"'{kind}'")
            source = self._one(sources, path, kind, line)
            self._enter(line)
            out = self._body(body, ctx.inside(path, source, line, kinds=ctx.kinds), path,
                             line, f"'{kind}'", "auto" if kind == "residual" else None, source)
            self.nesting -= 1
        elif kind == "side":
            check_keys(body, ("name", "from", "layers"), "'side'")
            layers = as_sequence(body.get("layers"), "'layers' of 'side'", line)
            source = self._one(sources, path, kind, line)
            self._enter(line)
            end = self._sequence(layers, ctx.inside(path, source, line, side=True), source, 0)
            self.nesting -= 1
            self._alias(path, end)
            return current  # the main path goes on from where it was
        else:
            known = [*LAYER_KINDS, *self.blocks, *GRAPH_KINDS]
            raise ConvcalcError(f"unknown layer kind or block '{kind}'"
                                f"{_near(kind, known, FAMILIAR_NAMES)}", line=line)
        self._alias(path, out)
        return out

    # -- reading tensors ---------------------------------------------------------------------

    def _from(self, body: YMap, ctx: _Context, current: str | None, path: str, kind: str,
              line: int) -> list[str]:
        """The tensors an item reads: its 'from:' list, else the current tensor."""
        if "from" not in body:
            if current is None:
                raise ConvcalcError("follows a split; say which section it reads with "
                                    "'from: NAME.0'", line=line, path=path, kind=kind)
            return [current]
        raw = body["from"]
        where = body.key_lines["from"]
        names = raw if isinstance(raw, YList) else [raw]
        if not names or not all(isinstance(n, str | int) and not isinstance(n, bool)
                                for n in names):
            raise ConvcalcError(f"from {raw!r} must name a layer path, or be a list of them",
                                line=where, path=path, kind=kind)
        return [tensor for n in names
                for tensor in self._resolve_all(str(n), ctx, where, path, kind)]

    def _resolve_all(self, name: str, ctx: _Context, line: int, path: str, kind: str) -> list[str]:
        """The tensors a 'from:' name means: one, or for 'NAME.*' every copy of the repeated
        item NAME in order (all the bottlenecks an Ultralytics C2f concatenates)."""
        if not name.endswith(".*"):
            return [self._resolve(name, ctx, line, path, kind)]
        base = name[:-2]
        for candidate in _candidates(base, ctx.prefix):
            copies: list[str] = []
            while f"{candidate}.{len(copies)}" in self.tensors:
                copies.append(self.tensors[f"{candidate}.{len(copies)}"])
            if copies:
                return copies
        raise ConvcalcError(f"reads '{name}', but '{base}' is no repeated item before it (its "
                            f"copies would be '{base}.0', '{base}.1', ...)", line=line,
                            path=path, kind=kind)

    def _resolve(self, name: str, ctx: _Context, line: int, path: str, kind: str) -> str:
        """The tensor a 'from:' name means: 'input' (the network input), 'in' (the input of the
        enclosing block), or a layer path looked up inside the enclosing blocks first, then
        outward to the top."""
        if name == "in":
            return ctx.block_input
        candidates = _candidates(name, ctx.prefix)
        for candidate in candidates:
            tensor = self.tensors.get(candidate)
            if tensor == _SPLIT:
                raise ConvcalcError(f"reads the split '{candidate}' itself; read one of its "
                                    f"sections, '{candidate}.0', '{candidate}.1', ...",
                                    line=line, path=path, kind=kind)
            if tensor is not None:
                return tensor
        # Unknown so far: a later layer (an error) or no layer at all; told apart at the end.
        error = ConvcalcError(f"reads '{name}', which is no layer before it", line=line,
                              path=path, kind=kind)
        self.unresolved.append((name, candidates, error))
        return f"\0{name}"

    def _check_unresolved(self) -> None:
        for name, candidates, error in self.unresolved:
            if any(c in self.tensors for c in candidates):
                raise ConvcalcError(f"reads '{name}', which comes later; a layer may read only "
                                    "layers before it (a cycle is not a network)",
                                    line=error.line, path=error.path, kind=error.kind)
            raise ConvcalcError(f"{error.message}{_near(name, self.tensors)}", line=error.line,
                                path=error.path, kind=error.kind)

    def _one(self, sources: list[str], path: str, kind: str, line: int) -> str:
        if len(sources) != 1:
            raise ConvcalcError(f"reads {len(sources)} tensors; '{kind}' reads one (list "
                                "several only for add, mul, concat and upsample)", line=line,
                                path=path, kind=kind)
        return sources[0]

    def _alias(self, path: str, tensor: str | None) -> None:
        """Let 'from: PATH' of a block, group or side name the tensor it ends with."""
        if tensor is not None and path not in self.tensors:
            self.tensors[path] = tensor

    def _emit(self, node: Node) -> str:
        self.nodes.append(node)
        self.tensors[node.path] = node.path
        return node.path

    def _claim(self, path: str, ctx: _Context, line: int, kind: str) -> None:
        lines = (*ctx.lines, line)
        if path in self.claims:
            # Name the lines where the two expansions part: the two calls, or the two items.
            first = self.claims[path]
            here, there = next(((a, b) for a, b in zip(lines, first, strict=False) if a != b),
                               (line, first[-1]))
            raise ConvcalcError(f"the path is used twice (also on line {there}); give one of "
                                "them another 'name'", line=here, path=path, kind=kind)
        self.claims[path] = lines
        self.budget.charge("layers", line=line)

    # -- layers ------------------------------------------------------------------------------

    def _layer(self, kind: str, body: YMap, ctx: _Context, path: str, line: int,
               sources: list[str]) -> str | None:
        cls = LAYER_KINDS[kind]
        check_keys(body, ("name", "from", *yaml_keys(cls)), f"a '{kind}' layer")
        raws: list[tuple[str, Any, int]] = []
        for source in (self.defaults.get(kind) or as_mapping(None, "", line), body):
            for key, raw in source.items():
                if key not in ("name", "from"):
                    raws.append((key, raw, source.key_lines.get(key, line)))
        inputs = sources if issubclass(cls, Merge) else [self._one(sources, path, kind, line)]
        found: set[str] = set()
        for _, raw, key_line in raws:
            try:
                found |= _lazy_sources(raw, ctx.scope, ctx.block_input)
            except ConvcalcError as e:
                raise e.located(line=key_line, path=path, kind=kind) from None
        lazy = sorted(found)
        ctx.kinds.add(kind)
        if lazy:
            if issubclass(cls, Merge) or getattr(cls, "parallel", False):
                raise ConvcalcError(f"'{kind}' settings cannot read the input shape (in.c); "
                                    "give numbers or block arguments", line=line, path=path,
                                    kind=kind)
            scope, block_input = ctx.scope, ctx.block_input

            needed = set().union(*(_referenced(raw) for _, raw, _ in raws))

            def build(shapes: tuple[Shape, ...]) -> tuple[tuple[str, Layer], ...]:
                known = dict(zip(lazy, shapes[1:], strict=True))
                values = {k: v.value(known) if isinstance(v, _Lazy) and k in needed else v
                          for k, v in scope.items()}
                if block_input in known:
                    shape = known[block_input]
                    values |= expr.input_scope(shape.c, shape.h, shape.w)
                return _parts(self._build(kind, raws, values, path, line))

            self._claim(path, ctx, line, kind)
            return self._emit(Node(path, line, Deferred(kind=kind, build=build),
                                   (inputs[0], *lazy), ctx.side))
        layer = self._build(kind, raws, ctx.scope, path, line)
        parts = _parts(layer)
        if getattr(layer, "parallel", False):  # a split: sections side by side
            for suffix, part in parts:
                self._claim(f"{path}.{suffix}", ctx, line, kind)
                self._emit(Node(f"{path}.{suffix}", line, part, (inputs[0],), ctx.side))
            self.tensors[path] = _SPLIT
            return None
        tensor = None
        for suffix, part in parts:
            part_path = f"{path}.{suffix}" if suffix else path
            self._claim(part_path, ctx, line, kind)
            tensor = self._emit(Node(part_path, line, part, tuple(inputs), ctx.side))
            inputs = [tensor]
        self._alias(path, tensor)
        return tensor

    def _build(self, kind: str, raws: list[tuple[str, Any, int]], scope: Mapping[str, Any],
               path: str, line: int) -> Layer | Merge:
        """The layer of one item from its settings, located errors for bad ones."""
        cls = LAYER_KINDS[kind]
        types_ = field_types(cls)
        values: dict[str, Any] = {}
        for key, raw, key_line in raws:
            try:
                values[key] = _coerce(raw, types_[key], scope, key)
            except ConvcalcError as e:
                raise e.located(line=key_line, path=path, kind=kind) from None
        try:
            return cls(kind=kind, **values)
        except TypeError:
            missing = [f.name for f in dataclasses.fields(cls) if f.name not in values
                       and f.default is dataclasses.MISSING and f.name != "kind"]
            raise ConvcalcError(f"needs {', '.join(repr(m) for m in missing)}", line=line,
                                path=path, kind=kind) from None
        except ConvcalcError as e:
            raise e.located(line=line, path=path, kind=kind) from None

    # -- blocks and sugar --------------------------------------------------------------------

    def _call_block(self, name: str, body: YMap, ctx: _Context, path: str, line: int,
                    source: str) -> str | None:
        if name in self.calls:
            chain = " -> ".join([*self.calls[self.calls.index(name):], name])
            raise ConvcalcError(f"block '{name}' uses itself ({chain})", line=line, path=path,
                                kind=name)
        block = self.blocks[name]
        params = as_mapping(block.get("args"), "", None)
        check_keys(body, ("name", "from", *params), f"a call of block '{name}'")
        # The scale's arguments win over the call's: Ultralytics' parse_model makes every
        # C3k2 a C3k at scales m, l and x, whatever its row says.
        scaled = as_mapping(self.scale.args.get(name), "", None)
        args: dict[str, Any] = {}
        for key, default in params.items():
            where = body.key_lines.get(key, line)
            try:
                if key in scaled:
                    where = scaled.key_lines[key]
                    args[key] = _argument(scaled[key], args, source)  # written as a default
                elif key in body:
                    args[key] = _argument(body[key], ctx.scope, ctx.block_input)
                elif default is None:
                    raise ConvcalcError(f"block '{name}' needs argument '{key}'", line=line)
                else:
                    # A default may be a formula over the arguments before it.
                    args[key] = _argument(default, args, source)
            except ConvcalcError as e:
                raise e.located(line=where, path=path, kind=name) from None
        self.calls.append(name)
        self._enter(line)
        inner = ctx.inside(path, source, line, scope=args, kinds=ctx.kinds)
        if "branches" in block:
            out: str | None = self._branches(block["branches"], block.key_lines["branches"],
                                             inner, path, line, source)
        else:
            out = self._body(block, inner, path, line, f"block '{name}'", None, source)
        self.calls.pop()
        self.nesting -= 1
        return out

    def _body(self, body: YMap, ctx: _Context, path: str, line: int, what: str,
              default_shortcut: str | None, source: str) -> str | None:
        """A block's or a residual's layers; with a shortcut, the add (and projection) of a
        residual, then its 'after' layers."""
        layers = as_sequence(body.get("layers"), f"'layers' of {what}", body.line or line)
        shortcut = body.get("shortcut", default_shortcut)
        if shortcut is None:
            if "after" in body:
                raise ConvcalcError(f"'after' in {what} goes with 'shortcut'", line=line)
            return self._sequence(layers, ctx, source, 0)
        shortcut_line = body.key_lines.get("shortcut", line)
        if not isinstance(shortcut, YList) and shortcut not in SHORTCUTS:
            raise ConvcalcError(f"shortcut {shortcut!r} must be one of {', '.join(SHORTCUTS)} "
                                "or a list of layers", line=shortcut_line, path=path)
        outer_kinds = ctx.kinds
        main_ctx = _Context(ctx.prefix, ctx.block_input, ctx.scope, ctx.side, ctx.lines, set())
        main = self._sequence(layers, main_ctx, source, 0)
        if main is None:
            raise ConvcalcError(f"the layers of {what} end with a split; end them with a "
                                "layer that reads its sections", line=line, path=path)
        add_path, down_path = f"{path}.add", f"{path}.downsample"
        self._claim(add_path, ctx, line, "residual")
        self._claim(down_path, ctx, line, "residual")
        if isinstance(shortcut, YList):
            skip = self._sequence(shortcut, main_ctx.inside(down_path, source, line), source, 0)
            if skip is None:
                raise ConvcalcError("the shortcut's layers end with a split", line=line,
                                    path=path)
        elif shortcut in ("identity", "if_same"):
            skip = source
        else:
            conv_defaults: Mapping[str, Any] = self.defaults.get("conv", {})
            projection = Shortcut(mode=shortcut, bias=bool(conv_defaults.get("bias", True)),
                                  norm="batchnorm" in main_ctx.kinds)
            skip = self._emit(Node(down_path, line, projection, (source, main), ctx.side))
        self._emit(Node(add_path, line, Add(optional=shortcut == "if_same"), (main, skip),
                        ctx.side))
        after = body.get("after")
        if after is None:
            return add_path
        after = as_sequence(after, f"'after' of {what}", body.key_lines["after"])
        after_ctx = _Context(ctx.prefix, ctx.block_input, ctx.scope, ctx.side, ctx.lines,
                             outer_kinds)
        return self._sequence(after, after_ctx, add_path, len(layers))

    def _branches(self, raw: Any, where: int, ctx: _Context, path: str, line: int,
                  source: str) -> str:
        """Parallel branches of layers on one input, joined by a concat at ``path.concat``."""
        if isinstance(raw, YMap):
            named = [(k, raw[k], raw.key_lines[k]) for k in raw]
        elif isinstance(raw, YList):
            named = [(str(i), b, raw.lines[i]) for i, b in enumerate(raw)]
        else:
            raise ConvcalcError("'concat' needs 'branches': a list of layer lists, or a "
                                "mapping of branch names to layer lists", line=where, path=path)
        if len(named) < 2:
            raise ConvcalcError("'concat' needs at least two branches", line=where, path=path)
        outs = []
        for name, layers, branch_line in named:
            items = as_sequence(layers, f"branch '{name}'", branch_line)
            self._enter(branch_line)
            out = self._sequence(items, ctx.inside(f"{path}.{name}", source, branch_line),
                                 source, 0)
            self.nesting -= 1
            if out is None:
                raise ConvcalcError(f"branch '{name}' ends with a split", line=branch_line,
                                    path=path)
            outs.append(out)
        self._claim(f"{path}.concat", ctx, line, "concat")
        return self._emit(Node(f"{path}.concat", line, Concat(), tuple(outs), ctx.side))
