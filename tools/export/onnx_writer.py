"""torch.onnx.export of each component into the model directory, the check that no int64 shape
arithmetic reaches a GPU session, the graph rewrites of the fused transformer (fuse_graph.py), the
check that every file is referenced, and zimage.json. See export_zimage.py for the contract."""
from __future__ import annotations

import json
from pathlib import Path

import onnx
import torch
from torch import nn

from custom_ops import onnx_translations
from fuse_graph import rewrite
from graph_wrappers import (
    PATCH,
    SEQ_MULTI_OF,
    StaticVaeAttnProcessor,
    TextEncoderWrapper,
    TransformerWrapper,
    VaeDecoderWrapper,
    repeat_kv_static,
    restore_processors,
    text_encoder_inputs,
)

FORMAT_VERSION = 1
# fuse_graph.py's --norm --rope native, by the names zimage.json records them under
# (transformer.fused_graph_rewrites); the unfused graph stays the plain export.
GRAPH_REWRITES = ["simplified_layer_norm", "rotary_embedding"]


def _dyn(*names):  # noqa: ANN002
    return {i: torch.export.Dim.DYNAMIC for i in names}


def export_onnx(module: nn.Module, inputs: dict, out: Path, dynamic: dict, fused: bool = False) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    program = torch.onnx.export(
        module,
        args=(),
        kwargs=inputs,
        dynamo=True,
        dynamic_shapes=dynamic,
        custom_translation_table=onnx_translations(fused),
        optimize=True,
    )
    # The exporter's per-node Python stack traces name this checkout's absolute paths (the tiny
    # fixture's graphs then differed by checkout) and were 0.6 MB of the fixture's 7.1 MB.
    for node in program.model.graph.all_nodes():
        node.metadata_props.pop("pkg.torch.onnx.stack_trace", None)
    # Files over ONNX's 2 GB protobuf limit need external data; small ones stay in one file.
    size = sum(t.numel() * t.element_size() for t in module.state_dict().values())
    program.save(str(out), external_data=size > 1_800_000_000)
    print(f"  wrote {out} ({size / 1e6:.1f} MB of weights)", flush=True)
    shape_ops = shape_subgraph_ops(program.model_proto)
    if shape_ops:
        raise SystemExit(f"{out}: int64 shape arithmetic {shape_ops} would run on the CPU under the WebGPU EP")


def shape_subgraph_ops(model) -> list[str]:  # noqa: ANN001
    """Nodes whose data input is a Shape's output (or derived from one): int64 shape arithmetic,
    which ORT assigns to the CPU EP for GPU sessions. A float op that only takes a shape-derived
    *parameter* (Reshape's shape, Slice's ends) stays on the GPU and is fine."""
    tainted: set[str] = set()
    found: list[str] = []
    for node in model.graph.node:  # topologically sorted
        if node.op_type == "Shape":
            tainted.update(node.output)
        elif (node.input and node.input[0] in tainted) or (
            node.op_type == "Concat" and any(i in tainted for i in node.input)
        ):
            found.append(node.op_type)
            tainted.update(node.output)
    return sorted(set(found))


def export_transformer(model, cfg, out_dir: Path, precision: str, example, graph_rewrites: bool = True) -> dict:  # noqa: ANN001, PLR0913
    files = {}
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    model = model.to(dtype)
    ex = example  # fp32 inputs; the wrapper casts to the weights' dtype
    dynamic = {
        "x_tokens": _dyn(1),
        "x_pad_mask": _dyn(1),
        "cap_feats": _dyn(1),
        "cap_pad_mask": _dyn(1),
        "x_cos": _dyn(0),
        "x_sin": _dyn(0),
        "cap_cos": _dyn(0),
        "cap_sin": _dyn(0),
        "timestep": None,
    }
    for variant, fused in (("fused", True), ("unfused", False)):
        path = out_dir / "transformer" / f"{variant}.{precision}.onnx"
        with torch.no_grad():
            export_onnx(TransformerWrapper(model, fused).eval(), ex, path, dynamic, fused=fused)
        restore_processors(model)
        if fused and graph_rewrites:
            rewrite_fused(path, path)
        files[variant] = {precision: str(path.relative_to(out_dir))}
    return files


def rewrite_fused(src: Path, dst: Path) -> dict:
    """fuse_graph.py's --norm --rope native (dst beside src, naming src's external data file; dst
    may be src). On an H200 ORT ran the exported RMSNorm and RoPE chains as 9 and about 14
    elementwise kernels each and the transformer was 6-10% slower than PyTorch eager; rewritten,
    it takes 0.88x (bf16) and 0.82x (fp16) of PyTorch's time (docs/performance.md). Every
    candidate chain must match: fewer means the export spells one differently, and a
    half-rewritten graph would be slow without saying so."""
    summary = rewrite(src, dst, norm=True, rope="native")
    c = summary["candidates"]
    counts = f"{summary['norms']} of {c['reciprocal']} RMSNorm and {summary['ropes']} of {c['pairGathers']} RoPE chains"
    if summary["norms"] != c["reciprocal"] or summary["ropes"] != c["pairGathers"] or not summary["norms"] or not summary["ropes"]:
        raise SystemExit(f"{src}: the graph rewrites matched {counts}; export with --no-graph-rewrites for the plain "
                         "graph. First unmatched: " + " | ".join(summary["unmatched"]))
    print(f"  rewrote {dst} ({counts}; {summary['nodesBefore']} -> {summary['nodesAfter']} nodes)", flush=True)
    return summary


def check_model_files(out_dir: Path, files: dict) -> None:
    """Every graph zimage.json names exists, every external data file a graph names exists, and
    nothing else is in the components' folders (a graph or data file a rewrite left behind)."""

    def graphs(d: dict):  # noqa: ANN202
        for v in d.values():
            yield from graphs(v) if isinstance(v, dict) else [v]

    wanted, missing = set(), []
    for rel in graphs(files):
        path = out_dir / rel
        if not path.is_file():
            missing.append(rel)
            continue
        wanted.add(path)
        model = onnx.load(str(path), load_external_data=False)
        for t in model.graph.initializer:
            for e in t.external_data:
                if e.key == "location":
                    wanted.add(path.parent / e.value)
    missing += [str(p.relative_to(out_dir)) for p in sorted(wanted) if not p.is_file()]
    extra = [str(p.relative_to(out_dir)) for c in files for p in sorted((out_dir / c).iterdir()) if p not in wanted]
    if missing or extra:
        raise SystemExit(f"{out_dir}: missing {missing}, not referenced by zimage.json or a graph {extra}")


def export_text_encoder(model, out_dir: Path, precision: str, input_ids) -> dict:  # noqa: ANN001
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    path = out_dir / "text_encoder" / f"model.{precision}.onnx"
    import transformers.models.qwen3.modeling_qwen3 as qwen3

    original, qwen3.repeat_kv = qwen3.repeat_kv, repeat_kv_static
    try:
        _export_text_encoder(model, dtype, input_ids, path)
    finally:
        qwen3.repeat_kv = original
    return {precision: str(path.relative_to(out_dir))}


def _export_text_encoder(model, dtype, input_ids, path: Path) -> None:  # noqa: ANN001
    with torch.no_grad():
        dynamic = {"input_ids": _dyn(1), "attention_bias": _dyn(2, 3), "position_ids": _dyn(1)}
        export_onnx(TextEncoderWrapper(model.to(dtype)).eval(), text_encoder_inputs(input_ids), path, dynamic)


def export_vae(vae, out_dir: Path, precision: str, latents) -> dict:  # noqa: ANN001
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    path = out_dir / "vae_decoder" / f"model.{precision}.onnx"
    attentions = [a for a in vae.decoder.mid_block.attentions if a is not None]
    originals = [a.processor for a in attentions]
    for a in attentions:
        a.set_processor(StaticVaeAttnProcessor())
    with torch.no_grad():
        export_onnx(VaeDecoderWrapper(vae.to(dtype)).eval(), {"latents": latents}, path, {"latents": _dyn(2, 3)})
    for a, p in zip(attentions, originals):
        a.set_processor(p)
    return {precision: str(path.relative_to(out_dir))}


def transformer_config(model) -> dict:  # noqa: ANN001
    c = model.config
    return {
        "dim": c.dim,
        "heads": c.n_heads,
        "head_dim": c.dim // c.n_heads,
        "layers": c.n_layers,
        "refiner_layers": c.n_refiner_layers,
        "in_channels": c.in_channels,
        "patch_size": PATCH,
        "cap_feat_dim": c.cap_feat_dim,
        "rope_theta": c.rope_theta,
        "axes_dims": list(c.axes_dims),
        "axes_lens": list(c.axes_lens),
        "seq_multiple": SEQ_MULTI_OF,
        "t_scale": c.t_scale,
    }


def write_manifest(out_dir: Path, name: str, tcfg: dict, te_cfg: dict, vae, files: dict, max_size: int) -> None:  # noqa: ANN001
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    manifest = {
        "format": FORMAT_VERSION,
        "name": name,
        "files": files,
        "tokenizer": {"dir": "tokenizer", "max_tokens": 512},
        "text_encoder": te_cfg,
        "transformer": tcfg,
        "scheduler": {
            "type": "FlowMatchEulerDiscreteScheduler",
            "num_train_timesteps": 1000,
            "shift": 3.0,
            "use_dynamic_shifting": False,
            # diffusers >= 0.37 (PR #13730): sigmas = linspace(1, 1/N, N), N forwards. The original
            # pipeline's schedule (sigma_min = 0, 9 steps = 8 forwards) is "terminal-zero".
            "sigmas": "linear-to-1/n",
        },
        "vae": {
            "scaling_factor": vae.config.scaling_factor,
            "shift_factor": vae.config.shift_factor,
            "latent_channels": vae.config.latent_channels,
            "spatial_scale": scale,
        },
        "image": {"multiple": scale * PATCH, "max_size": max_size},
    }
    (out_dir / "zimage.json").write_text(json.dumps(manifest, indent=2) + "\n")

