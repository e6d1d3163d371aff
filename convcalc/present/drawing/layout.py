"""A layered drawing of a directed graph, top to bottom: pure geometry, sizes and edges in,
rectangles and routes out.

The four steps of Sugiyama, Tagawa and Toda (1981) as Gansner, Koutsofios, North and Vo
describe them for Graphviz's dot ("A Technique for Drawing Directed Graphs", 1993):

1. **Ranks.** Edges that point backwards in the given node order are reversed, so the graph is
   acyclic; every node goes one rank below its lowest predecessor (longest path from the top).
2. **Dummy nodes.** An edge that spans several ranks becomes a chain of narrow dummy nodes, one
   per rank it crosses, so that it takes part in ordering and placement like a node.
3. **Order within ranks.** A depth-first order to start, then sweeps down and up that sort each
   rank by the weighted median of its neighbours' positions (dot's ``wmedian``), each followed
   by swaps of adjacent nodes that remove crossings (``transpose``); the order with the fewest
   crossings is kept.
4. **Coordinates.** Each node wants the weighted median x of its neighbours in the ranks above
   and below (edges through dummies weigh more, so long edges run straight, as dot's Omega
   factors do); a rank is then placed as close to those wishes as its order and the gaps allow,
   which is a weighted isotonic regression solved exactly by pool-adjacent-violators. Sweeps
   down and up repeat this.

Edges then run from the bottom centre of their source, through their dummies' positions, to a
port on the top of their target (one port per incoming edge, in the order of their sources, so
a merge shows every input apart). Between two ranks a route only crosses the empty gap; inside
a rank it only runs vertically through its dummy's slot, which no box overlaps.
"""

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

RANK_GAP = 44.0  # between ranks: an edge label and the curves between them
NODE_GAP = 28.0  # between two boxes of a rank
DUMMY_GAP = 12.0  # between an edge passing through a rank and its neighbours
DUMMY_WIDTH = 4.0
MARGIN = 12.0
ORDER_SWEEPS = 12
COORDINATE_SWEEPS = 10
# dot's Omega: how much an edge wants to be vertical, by how many of its ends are dummies.
STRAIGHTNESS = (1.0, 2.0, 8.0)

Point = tuple[float, float]


@dataclass(frozen=True)
class Rect:
    """A box: its top-left corner and its size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Route:
    """Where one edge runs: ``points`` from its source to its target. Two points at the same x
    are joined by a vertical line; any other two lie on the two sides of a gap between ranks
    and are joined by a curve that stays inside the rectangle they span (``curve``)."""

    source: int
    target: int
    points: tuple[Point, ...]
    port: int  # the edge's place among its target's incoming edges, left to right
    ports: int  # how many incoming edges its target has


@dataclass(frozen=True)
class Layout:
    """A graph laid out: one box per node (``boxes[i]`` for node i), one route per edge (in
    the order given), each node's rank, and the size of the whole drawing."""

    boxes: tuple[Rect, ...]
    routes: tuple[Route, ...]
    ranks: tuple[int, ...]
    width: float
    height: float
    crossings: int


def curve(a: Point, b: Point) -> tuple[Point, Point]:
    """The two control points of the cubic Bezier from ``a`` to ``b`` a route uses: it leaves
    and arrives vertically and stays within the rectangle a and b span."""
    middle = (a[1] + b[1]) / 2
    return (a[0], middle), (b[0], middle)


def layout(sizes: Sequence[tuple[float, float]], edges: Sequence[tuple[int, int]]) -> Layout:
    """Boxes of ``sizes`` (width, height), in this order, joined by ``edges`` (source, target
    indices; no edge from a node to itself), laid out in ranks from the top."""
    return _Graph(sizes, edges).run()


class _Graph:
    """The working state of one layout: real nodes 0..n-1, then the dummies."""

    def __init__(self, sizes: Sequence[tuple[float, float]],
                 edges: Sequence[tuple[int, int]]) -> None:
        n = len(sizes)
        self.n = n
        self.width = [float(w) for w, _ in sizes]
        self.height = [float(h) for _, h in sizes]
        self.edges = [(min(s, t), max(s, t)) for s, t in edges]
        self.reversed = [s > t for s, t in edges]
        for s, t in edges:
            if s == t or not (0 <= s < n and 0 <= t < n):
                raise ValueError(f"edge {s} -> {t} of a graph of {n} nodes")
        self.rank = _longest_path_ranks(n, self.edges)
        # Each edge as a chain of nodes, dummies in between; the layout works on its links.
        self.succ: list[list[int]] = [[] for _ in range(n)]
        self.pred: list[list[int]] = [[] for _ in range(n)]
        self.chains: list[list[int]] = []
        for s, t in self.edges:
            chain = [s]
            for r in range(self.rank[s] + 1, self.rank[t]):
                dummy = len(self.width)
                self.width.append(DUMMY_WIDTH)
                self.height.append(0.0)
                self.rank.append(r)
                self.succ.append([])
                self.pred.append([])
                chain.append(dummy)
            chain.append(t)
            for a, b in itertools.pairwise(chain):
                self.succ[a].append(b)
                self.pred[b].append(a)
            self.chains.append(chain)
        self.ranks = max(self.rank, default=-1) + 1

    def is_dummy(self, v: int) -> bool:
        return v >= self.n

    # -- 3. order within ranks --------------------------------------------------------------

    def initial_order(self) -> list[list[int]]:
        """Nodes by rank in depth-first order from the first node, successors in edge order:
        a branch's nodes stay together, left of the branches found after it."""
        layers: list[list[int]] = [[] for _ in range(self.ranks)]
        seen = [False] * len(self.width)
        for root in range(self.n):
            if seen[root]:
                continue
            stack = [root]
            while stack:
                v = stack.pop()
                if seen[v]:
                    continue
                seen[v] = True
                layers[self.rank[v]].append(v)
                stack.extend(reversed(self.succ[v]))
        return layers

    def order(self) -> tuple[list[list[int]], int]:
        """The order of each rank with the fewest crossings found, and that number."""
        layers = self.initial_order()
        self.transpose(layers)
        best, fewest = [list(r) for r in layers], self.crossings(layers)
        for sweep in range(ORDER_SWEEPS):
            if fewest == 0:
                break
            down = sweep % 2 == 0
            ranks = range(1, self.ranks) if down else range(self.ranks - 2, -1, -1)
            for r in ranks:
                neighbours = self.pred if down else self.succ
                position = {v: i for i, v in enumerate(layers[r - 1 if down else r + 1])}
                keys = {}
                for i, v in enumerate(layers[r]):
                    places = sorted(position[u] for u in neighbours[v])
                    keys[v] = _median_position(places) if places else float(i)
                layers[r].sort(key=keys.__getitem__)
            self.transpose(layers)
            count = self.crossings(layers)
            if count < fewest:
                best, fewest = [list(r) for r in layers], count
        return best, fewest

    def transpose(self, layers: list[list[int]]) -> None:
        """Swap adjacent nodes of a rank while that removes crossings with both next ranks."""
        position = {v: i for layer in layers for i, v in enumerate(layer)}
        for _ in range(4):
            improved = False
            for layer in layers:
                for i in range(len(layer) - 1):
                    v, w = layer[i], layer[i + 1]
                    if self._pair_crossings(w, v, position) < self._pair_crossings(
                            v, w, position):
                        layer[i], layer[i + 1] = w, v
                        position[v], position[w] = i + 1, i
                        improved = True
            if not improved:
                return

    def _pair_crossings(self, left: int, right: int, position: dict[int, int]) -> int:
        """Crossings between the edges of ``left`` and ``right`` when ``left`` is left."""
        count = 0
        for links in (self.pred, self.succ):
            for a in links[left]:
                pa = position[a]
                count += sum(1 for b in links[right] if position[b] < pa)
        return count

    def crossings(self, layers: list[list[int]]) -> int:
        """Crossings between every two neighbouring ranks: pairs of links whose ends are in
        opposite orders, counted as inversions."""
        total = 0
        for upper, lower in itertools.pairwise(layers):
            below = {v: i for i, v in enumerate(lower)}
            ends = [below[w] for v in upper for w in sorted(self.succ[v], key=below.__getitem__)]
            seen: list[int] = []
            for end in ends:
                total += len(seen) - bisect.bisect_right(seen, end)
                bisect.insort(seen, end)
        return total

    # -- 4. coordinates ----------------------------------------------------------------------

    def ports(self, layers: list[list[int]]) -> list[tuple[int, int]]:
        """For each edge, its port number on its target and the target's port count: the
        edges into a node in the order of where they come from in the rank above."""
        position = {v: i for layer in layers for i, v in enumerate(layer)}
        into: list[list[int]] = [[] for _ in range(self.n)]
        for e, chain in enumerate(self.chains):
            into[chain[-1]].append(e)
        ports = [(0, 1)] * len(self.chains)
        for edges in into:
            edges.sort(key=lambda e: position[self.chains[e][-2]])
            for k, e in enumerate(edges):
                ports[e] = (k, len(edges))
        return ports

    def offset(self, v: int, port: tuple[int, int]) -> float:
        """Where port k of m sits on v's top, from v's centre."""
        k, m = port
        return self.width[v] * ((k + 0.5) / m - 0.5)

    def gap(self, a: int, b: int) -> float:
        dummies = self.is_dummy(a) + self.is_dummy(b)
        return NODE_GAP if dummies == 0 else DUMMY_GAP

    def coordinates(self, layers: list[list[int]], ports: list[tuple[int, int]]) -> list[float]:
        """Each node's centre x (see the module docstring, step 4)."""
        # Each node's neighbours with where it wants to be for each: right above a dummy or a
        # source, or with the right port under it for a link into a real node.
        wants: list[list[tuple[int, float, float]]] = [[] for _ in self.width]
        for e, chain in enumerate(self.chains):
            for a, b in itertools.pairwise(chain):
                shift = self.offset(b, ports[e]) if b == chain[-1] else 0.0
                weight = self.straightness(a, b)
                wants[b].append((a, -shift, weight))
                wants[a].append((b, shift, weight))
        x = [0.0] * len(self.width)
        for layer in layers:  # packed from the left to start
            at = 0.0
            for i, v in enumerate(layer):
                if i:
                    at += self.width[layer[i - 1]] / 2 + self.gap(layer[i - 1], v)
                    at += self.width[v] / 2
                x[v] = at
        order = list(range(self.ranks))
        for sweep in range(COORDINATE_SWEEPS):
            down = sweep % 2 == 0
            for r in (order if down else order[::-1]):
                self.place(layers[r], x, wants, r - 1 if down else r + 1)
        return x

    def place(self, layer: list[int], x: list[float],
              wants: list[list[tuple[int, float, float]]], fresh: int) -> None:
        """Move one rank's nodes to the medians of their neighbours, keeping order and gaps;
        rank ``fresh`` is the one placed just before."""
        wishes, weights = [], []
        for v in layer:
            if wants[v]:
                candidates = [(x[u] + shift, weight, self.rank[u] == fresh)
                              for u, shift, weight in wants[v]]
                wishes.append(_weighted_median(candidates, x[v]))
                weights.append(sum(weight for _, weight, _ in candidates))
            else:
                wishes.append(x[v])
                weights.append(1.0)
        gaps = [self.width[a] / 2 + self.gap(a, b) + self.width[b] / 2
                for a, b in itertools.pairwise(layer)]
        for v, value in zip(layer, _isotonic(wishes, weights, gaps), strict=True):
            x[v] = value

    def straightness(self, a: int, b: int) -> float:
        return STRAIGHTNESS[self.is_dummy(a) + self.is_dummy(b)]

    # -- all together ------------------------------------------------------------------------

    def run(self) -> Layout:
        layers, crossings = self.order()
        ports = self.ports(layers)
        x = self.coordinates(layers, ports)
        left = min((x[v] - self.width[v] / 2 for v in range(len(x))), default=0.0)
        x = [value - left + MARGIN for value in x]
        band = [max((self.height[v] for v in layer), default=0.0) for layer in layers]
        top, y = [], MARGIN
        for r in range(self.ranks):
            top.append(y)
            y += band[r] + RANK_GAP
        height = y - RANK_GAP + MARGIN if self.ranks else 2 * MARGIN
        width = max((x[v] + self.width[v] / 2 for v in range(len(x))), default=0.0) + MARGIN

        def box(v: int) -> Rect:  # centred in its rank's band
            r = self.rank[v]
            return Rect(x[v] - self.width[v] / 2, top[r] + (band[r] - self.height[v]) / 2,
                        self.width[v], self.height[v])

        boxes = tuple(box(v) for v in range(self.n))
        routes = []
        for e, ((s, t), chain) in enumerate(zip(self.edges, self.chains, strict=True)):
            port, count = ports[e]
            points: list[Point] = [(x[s], boxes[s].bottom), (x[s], top[self.rank[s]] + band[
                self.rank[s]])]
            for d in chain[1:-1]:
                points += [(x[d], top[self.rank[d]]), (x[d], top[self.rank[d]] + band[
                    self.rank[d]])]
            entry = x[t] + self.offset(t, (port, count))
            points += [(entry, top[self.rank[t]]), (entry, boxes[t].y)]
            points = _simplified(points)
            if self.reversed[e]:
                routes.append(Route(t, s, tuple(reversed(points)), port, count))
            else:
                routes.append(Route(s, t, tuple(points), port, count))
        return Layout(boxes, tuple(routes), tuple(self.rank[: self.n]), width, height,
                      crossings)


def _longest_path_ranks(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Each node one rank below its lowest predecessor; the edges all point forwards."""
    rank = [0] * n
    incoming: list[list[int]] = [[] for _ in range(n)]
    for s, t in edges:
        incoming[t].append(s)
    for v in range(n):
        rank[v] = max((rank[u] + 1 for u in incoming[v]), default=0)
    return rank


def _median_position(places: list[int]) -> float:
    """dot's weighted median of sorted neighbour positions: the middle one, or for an even
    count the two middle ones weighted towards the side whose neighbours are packed tighter."""
    m = len(places) // 2
    if len(places) % 2:
        return float(places[m])
    if len(places) == 2:
        return (places[0] + places[1]) / 2
    left, right = places[m - 1] - places[0], places[-1] - places[m]
    if left + right == 0:
        return (places[m - 1] + places[m]) / 2
    return (places[m - 1] * right + places[m] * left) / (left + right)


def _weighted_median(candidates: list[tuple[float, float, bool]], now: float) -> float:
    """The value at half the total weight. On a tie (a chain node between its two
    neighbours) one of the two values around it, not their mean, so that chains run straight:
    the one from the rank placed just before (flagged True), else the one nearest ``now``."""
    candidates.sort()
    half = sum(w for _, w, _ in candidates) / 2
    seen = 0.0
    for i, (value, weight, fresh) in enumerate(candidates):
        seen += weight
        if seen > half:
            return value
        if seen == half:
            after, _, after_fresh = candidates[i + 1]
            if fresh != after_fresh:
                return value if fresh else after
            return value if abs(value - now) <= abs(after - now) else after
    return candidates[-1][0]


def _isotonic(wishes: list[float], weights: list[float], gaps: list[float]) -> list[float]:
    """The positions closest to ``wishes`` (least weighted squares) with each at least its gap
    right of the previous: shifted by the running sum of the gaps, this is isotonic
    regression, solved by pooling adjacent violators."""
    shift = [0.0]
    for g in gaps:
        shift.append(shift[-1] + g)
    blocks: list[list[float]] = []  # [weight, weighted sum, count]
    for wish, weight, s in zip(wishes, weights, shift, strict=True):
        blocks.append([weight, weight * (wish - s), 1])
        while len(blocks) > 1 and (blocks[-2][1] / blocks[-2][0]
                                   >= blocks[-1][1] / blocks[-1][0]):
            w, total, count = blocks.pop()
            blocks[-1][0] += w
            blocks[-1][1] += total
            blocks[-1][2] += count
    out = []
    for weight, total, count in blocks:
        out += [total / weight] * int(count)
    return [value + s for value, s in zip(out, shift, strict=True)]


def _simplified(points: list[Point]) -> list[Point]:
    """The points without repeats and without the middle of three on one vertical line."""
    out: list[Point] = []
    for p in points:
        if out and abs(out[-1][0] - p[0]) < 1e-9 and abs(out[-1][1] - p[1]) < 1e-9:
            continue
        if len(out) >= 2 and out[-2][0] == out[-1][0] == p[0]:
            out[-1] = p
            continue
        out.append(p)
    return out
