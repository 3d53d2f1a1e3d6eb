#!/usr/bin/env python3
"""Rewrites an exported transformer graph so that ONNX Runtime runs two decompositions as one
kernel each; the weights stay where they are (the graph is read without its external data and
written beside the original, naming the same data file).

  --norm  diffusers' RMSNorm, which exports as Cast -> Pow -> ReduceMean -> Add(eps) -> Sqrt ->
          Reciprocal -> Mul -> Cast -> Mul(weight): SimplifiedLayerNormalization (ORT's contrib
          op in the ONNX domain; fp32 statistics, one rounding to the weights' type instead of
          two). ORT 1.30's own SimplifiedLayerNormFusion does not match the Reciprocal form. In a
          bf16 graph the op runs on the chain's fp32 copy between two Casts: ORT 1.30's CUDA EP
          has fp32 and fp16 kernels for it but none for bf16.
  --rope  graph_wrappers.apply_rope (Reshape to pairs -> 2 Gather -> 4 Mul -> Sub, Add -> 2
          Unsqueeze -> Concat -> Reshape, in fp32 between two Casts): com.microsoft.RotaryEmbedding
          with interleaved pairs, the per-token cos/sin tables as its cache and position 0 as the
          offset. `--rope fp32` keeps the Casts (the same fp32 arithmetic as diffusers);
          `--rope native` rotates in the graph's own precision (bf16/fp16 tables).

Why: on an H200 the transformer's per-layer time was 8% over PyTorch eager with the matmuls and
attention at parity (docs/performance.md); these chains are about 6 GB of memory traffic per
layer at 1024^2, most of the elementwise time.

Usage: fuse_graph.py IN.onnx OUT.onnx [--norm] [--rope fp32|native]   (OUT beside IN; may be IN)
Prints one JSON line: what was rewritten and how many nodes are left. The exporter applies
`--norm --rope native` to every fused transformer graph it writes (onnx_writer.rewrite_fused, in
process through rewrite(); export_zimage.py --no-graph-rewrites skips it); the bench
(bench/gpu/torch_reference.py) runs the single rewrites on the plain export for comparison.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Graph:
    def __init__(self, model: onnx.ModelProto, base_dir: Path):
        self.model = model
        self.g = model.graph
        self.base_dir = base_dir
        self.inits = {t.name: t for t in self.g.initializer}
        self.reindex()
        self.new_nodes: list[tuple[onnx.NodeProto, onnx.NodeProto]] = []  # (anchor, node)
        self.counter = 0

    def reindex(self) -> None:
        self.producer = {o: n for n in self.g.node for o in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    def const(self, name: str):  # noqa: ANN201
        """A small constant's value (inline or external initializer, or a Constant node)."""
        t = self.inits.get(name)
        if t is None:
            p = self.producer.get(name)
            if p is None or p.op_type != "Constant":
                return None
            for a in p.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name == "value_ints":
                    return np.array(list(a.ints), dtype=np.int64)
                if a.name == "value_float":
                    return np.array(a.f, dtype=np.float32)
                if a.name == "value_int":
                    return np.array(a.i, dtype=np.int64)
            return None
        if t.data_location == TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            length = int(info.get("length", "0"))
            if length > 1 << 20:
                return None
            with open(self.base_dir / info["location"], "rb") as f:
                f.seek(int(info.get("offset", "0")))
                raw = f.read(length)
            copy = TensorProto()
            copy.CopyFrom(t)
            copy.ClearField("external_data")
            copy.data_location = TensorProto.DEFAULT
            copy.raw_data = raw
            return numpy_helper.to_array(copy)
        return numpy_helper.to_array(t)

    def op(self, name: str, op_type: str):  # noqa: ANN201
        p = self.producer.get(name)
        return p if p is not None and p.op_type == op_type else None

    def attr(self, node: onnx.NodeProto, name: str, default=None):  # noqa: ANN001, ANN201
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def strip_casts(self, name: str) -> str:
        while (p := self.op(name, "Cast")) is not None:
            name = p.input[0]
        return name

    def only_consumer(self, name: str):  # noqa: ANN201
        c = self.consumers.get(name, [])
        return c[0] if len(c) == 1 else None

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"zfuse_{stem}_{self.counter}"

    def int64_init(self, values: list[int], stem: str) -> str:
        name = self.fresh(stem)
        t = numpy_helper.from_array(np.array(values, dtype=np.int64), name)
        self.g.initializer.append(t)
        self.inits[name] = t
        return name

    def add(self, anchor: onnx.NodeProto, node: onnx.NodeProto) -> None:
        """Queue a node to be inserted right before `anchor` (keeps the list topological)."""
        self.new_nodes.append((anchor, node))

    def commit(self) -> None:
        before: dict[int, list[onnx.NodeProto]] = {}
        for anchor, node in self.new_nodes:
            before.setdefault(id(anchor), []).append(node)
        nodes = []
        for n in self.g.node:
            nodes.extend(before.get(id(n), []))
            nodes.append(n)
        del self.g.node[:]
        self.g.node.extend(nodes)
        self.new_nodes = []
        self.prune()
        self.reindex()

    def prune(self) -> None:
        """Drop nodes whose outputs nothing needs (the replaced chains), then the initializers
        only they read (their exponents, epsilons, pair indices and shapes; ORT warns about each
        unused one). Weights stay: the new nodes read them."""
        needed = {o.name for o in self.g.output}
        keep = []
        for n in reversed(self.g.node):
            if any(o in needed for o in n.output):
                keep.append(n)
                needed.update(i for i in n.input if i)
        keep.reverse()
        del self.g.node[:]
        self.g.node.extend(keep)
        needed.update(i.name for i in self.g.input)
        used = [t for t in self.g.initializer if t.name in needed]
        del self.g.initializer[:]
        self.g.initializer.extend(used)
        self.inits = {t.name: t for t in self.g.initializer}


def rename_output(g: Graph, old_producer: onnx.NodeProto, index: int, new_node: onnx.NodeProto) -> None:
    """`new_node` takes over the tensor name `old_producer` wrote; the old node loses it."""
    name = old_producer.output[index]
    old_producer.output[index] = g.fresh("dead")
    new_node.output.append(name)


def fuse_norms(g: Graph) -> int:
    count = 0
    for rc in list(g.g.node):
        if rc.op_type != "Reciprocal":
            continue
        sq = g.op(rc.input[0], "Sqrt")
        ad = sq and g.op(sq.input[0], "Add")
        if ad is None:
            continue
        eps_in = [i for i in ad.input if g.const(i) is not None and g.const(i).size == 1]
        rm_in = [i for i in ad.input if g.op(i, "ReduceMean") is not None]
        if len(eps_in) != 1 or len(rm_in) != 1:
            continue
        rm = g.op(rm_in[0], "ReduceMean")
        axes = g.attr(rm, "axes")
        if axes is None and len(rm.input) > 1:
            axes = g.const(rm.input[1])
        if axes is None or list(np.array(axes).ravel()) != [-1] or g.attr(rm, "keepdims", 1) != 1:
            continue
        pw = g.op(rm.input[0], "Pow")
        if pw is None or g.const(pw.input[1]) is None or float(g.const(pw.input[1])) != 2.0:
            continue
        base = g.strip_casts(pw.input[0])
        mu = g.only_consumer(rc.output[0])
        if mu is None or mu.op_type != "Mul":
            continue
        y = mu.input[1] if mu.input[0] == rc.output[0] else mu.input[0]
        if g.strip_casts(y) != base:
            continue
        chain_out = mu.output[0]
        nxt = g.only_consumer(chain_out)
        to = None
        if nxt is not None and nxt.op_type == "Cast":
            to = int(g.attr(nxt, "to"))
            chain_out = nxt.output[0]
            nxt = g.only_consumer(chain_out)
        if nxt is None or nxt.op_type != "Mul":
            continue
        others = [i for i in nxt.input if i != chain_out]
        if len(others) != 1 or others[0] not in g.inits:
            continue
        weight = others[0]
        eps = float(g.const(eps_in[0]))
        if to == TensorProto.BFLOAT16:
            # ORT 1.30's CUDA EP has no bf16 SimplifiedLayerNormalization kernel (the session
            # refused the node on an H200): normalise the fp32 copy the chain already makes, with
            # the weight in fp32 (a Cast of an initializer, folded at session start), cast once.
            w32, y32 = g.fresh("rmsnorm_w"), g.fresh("rmsnorm_y")
            g.add(nxt, helper.make_node("Cast", [weight], [w32], to=TensorProto.FLOAT))
            g.add(nxt, helper.make_node("SimplifiedLayerNormalization", [pw.input[0], w32], [y32],
                                        name=g.fresh("rmsnorm"), axis=-1, epsilon=eps, stash_type=1))
            node = helper.make_node("Cast", [y32], [], to=TensorProto.BFLOAT16)
        else:
            node = helper.make_node("SimplifiedLayerNormalization", [base, weight], [],
                                    name=g.fresh("rmsnorm"), axis=-1, epsilon=eps, stash_type=1)
        rename_output(g, nxt, 0, node)
        g.add(nxt, node)
        count += 1
    g.commit()
    return count


def table_source(g: Graph, name: str) -> str:
    """cos/sin as the rotation uses them ([1, S, 1, D/2] from Unsqueezes of the [S, D/2] table)."""
    while (p := g.op(name, "Unsqueeze")) is not None:
        name = p.input[0]
    return name


def fuse_ropes(g: Graph, mode: str) -> int:
    count = 0
    casts: dict[tuple[str, int], str] = {}
    for cat in list(g.g.node):
        if cat.op_type != "Concat" or len(cat.input) != 2:
            continue
        u0, u1 = g.op(cat.input[0], "Unsqueeze"), g.op(cat.input[1], "Unsqueeze")
        sub = u0 and g.op(u0.input[0], "Sub")
        add = u1 and g.op(u1.input[0], "Add")
        if sub is None or add is None:
            continue
        muls = [g.op(i, "Mul") for i in [*sub.input, *add.input]]
        if any(m is None for m in muls):
            continue

        def split(m: onnx.NodeProto):  # noqa: ANN202
            """(pair index 0/1, gathered tensor's source, table) of a Mul of a Gather and a table."""
            for a, b in ((m.input[0], m.input[1]), (m.input[1], m.input[0])):
                ga = g.op(a, "Gather")
                if ga is not None and g.const(ga.input[1]) is not None:
                    return int(g.const(ga.input[1])), ga.input[0], table_source(g, b)
            return None

        parts = [split(m) for m in muls]
        if any(p is None for p in parts):
            continue
        (i1, v1, c1), (i2, v2, s2), (i3, v3, s3), (i4, v4, c4) = parts
        # sub = x0*c - x1*s ; add = x0*s + x1*c (in either operand order of the Add)
        if (i1, i2) != (0, 1) or {i3, i4} != {0, 1} or len({v1, v2, v3, v4}) != 1:
            continue
        if i3 == 1:
            (i3, s3), (i4, c4) = (0, c4), (1, s3)
        cos_src, sin_src = c1, s2
        if c4 != cos_src or s3 != sin_src:
            continue
        view = g.op(v1, "Reshape")
        shape = view is not None and g.const(view.input[1])
        if view is None or shape is None or len(shape) < 3 or int(shape[-1]) != 2:
            continue
        heads, head_dim = int(shape[-3]), 2 * int(shape[-2])
        # After the pairs are stacked: the flatten back to [.., D] (often merged with the heads'
        # flatten before attention into [1, S, H * D]) and the cast back to the graph's type, in
        # the order the exporter wrote them, each with one consumer; the last one's output is
        # what the rest of the graph reads.
        chain: list[onnx.NodeProto] = []
        cur = cat
        while len(chain) < 4:
            nxt = g.only_consumer(cur.output[0])
            if nxt is None or nxt.op_type not in ("Reshape", "Cast"):
                break
            if nxt.op_type == "Cast" and any(n.op_type == "Cast" for n in chain):
                break  # a second cast is the graph's own business (e.g. its fp32 output)
            chain.append(nxt)
            cur = nxt
        reshapes = [n for n in chain if n.op_type == "Reshape"]
        out_casts = [n for n in chain if n.op_type == "Cast"]
        if not reshapes:
            continue
        end, target = chain[-1], reshapes[-1].input[1]
        to = int(g.attr(out_casts[0], "to")) if out_casts else None
        xf = view.input[0]
        native = mode == "native" and to is not None and g.op(xf, "Cast") is not None
        # One Cast back, not all: after --norm in a bf16 graph, the norm's own fp32 -> bf16 Cast
        # precedes this one, and stripping both reached an fp32 tensor (ORT refused the node:
        # RotaryEmbedding's T bound to float and bfloat16; H200, second run).
        src = g.op(xf, "Cast").input[0] if native else xf
        q3 = g.fresh("rope_in")
        g.add(end, helper.make_node("Reshape", [src, g.int64_init([0, 0, heads * head_dim], "shape3")], [q3]))
        tables = []
        for t in (cos_src, sin_src):
            if not native:
                tables.append(t)
                continue
            if (t, to) not in casts:
                casts[(t, to)] = g.fresh("rope_table")
                g.add(end, helper.make_node("Cast", [t], [casts[(t, to)]], to=to))
            tables.append(casts[(t, to)])
        rotated = g.fresh("rope_out")
        pos = g.int64_init([0], "pos0")
        g.add(
            end,
            helper.make_node(
                "RotaryEmbedding",
                [q3, pos, *tables],
                [rotated],
                domain="com.microsoft",
                name=g.fresh("rope"),
                interleaved=1,
                num_heads=heads,
            ),
        )
        if to is not None and not native:
            cast = g.fresh("rope_cast")
            g.add(end, helper.make_node("Cast", [rotated], [cast], to=to))
            rotated = cast
        back = helper.make_node("Reshape", [rotated, target], [])
        rename_output(g, end, 0, back)
        g.add(end, back)
        count += 1
    if count and not any(o.domain == "com.microsoft" for o in g.model.opset_import):
        g.model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    g.commit()
    return count


def neighbourhood(g: Graph, node: onnx.NodeProto, depth: int = 6) -> str:
    """A candidate's surroundings as text (op types back through inputs, forward to consumers),
    printed when a rewrite matched fewer chains than there are candidates."""
    back, frontier = [], [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            for i in n.input:
                p = g.producer.get(i)
                back.append(f"{p.op_type}({i})" if p is not None else f"<{i}>")
                if p is not None:
                    nxt.append(p)
        frontier = nxt[:4]
    fwd = [c.op_type for o in node.output for c in g.consumers.get(o, [])]
    return f"{node.op_type} {node.name}: inputs {' '.join(back[:24])}; consumers {fwd}"


def rewrite(src: Path, dst: Path, norm: bool, rope: str | None) -> dict:
    """Rewrites src into dst (dst may be src: the graph is replaced atomically); returns what
    was rewritten, what could have matched, and the surroundings of the first unmatched chain."""
    if src.resolve().parent != dst.resolve().parent:
        raise ValueError(f"{dst} must be in {src}'s folder (it names the same external data file)")
    model = onnx.load(str(src), load_external_data=False)
    g = Graph(model, src.parent)
    before = len(g.g.node)
    # What could have matched, so that a partial rewrite shows (e.g. an export's other spelling).
    candidates = {
        "reciprocal": sum(n.op_type == "Reciprocal" for n in g.g.node),
        "pairGathers": sum(n.op_type == "Gather" and g.attr(n, "axis") in (4, -1) for n in g.g.node) // 2,
    }
    done = {"norms": fuse_norms(g) if norm else 0, "ropes": fuse_ropes(g, rope) if rope else 0}
    unmatched = []
    if norm and done["norms"] < candidates["reciprocal"]:
        left = [n for n in g.g.node if n.op_type == "Reciprocal"]
        unmatched += [neighbourhood(g, n) for n in left[:1]]
    if rope and done["ropes"] < candidates["pairGathers"]:
        left = [n for n in g.g.node if n.op_type == "Gather" and g.attr(n, "axis") in (4, -1)]
        unmatched += [neighbourhood(g, n) for n in left[:1]]
    # Tensors loaded without their external data have no raw_data, so onnx.save writes the graph
    # only and keeps their (location, offset, length) references as they were.
    tmp = dst.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, dst)
    return {"src": str(src), "dst": str(dst), **done, "candidates": candidates, "unmatched": unmatched,
            "nodesBefore": before, "nodesAfter": len(g.g.node)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--norm", action="store_true")
    p.add_argument("--rope", choices=["fp32", "native"])
    args = p.parse_args()
    try:
        summary = rewrite(args.src, args.dst, args.norm, args.rope)
    except ValueError as err:
        sys.exit(str(err))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
