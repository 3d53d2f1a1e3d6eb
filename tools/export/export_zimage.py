#!/usr/bin/env python3
"""Export diffusers' Z-Image components into the runtime's model directory.

Modes (one of):
  --tiny                      real diffusers/transformers classes at a tiny configuration, random
                              weights, a small BPE tokenizer in tokenizer.json format, plus diffusers'
                              own outputs for a fixed input as reference tensors (the test fixture).
  --full-width                the real 3840-wide transformer blocks with random weights and
                              --layers main blocks (enough that external data passes 2 GB); tiny text
                              encoder and VAE. For GPU benchmarks; runs on the GPU host.
  --from-pretrained DIR       a local diffusers snapshot of Tongyi-MAI/Z-Image-Turbo (real weights).

The runtime's model directory contract (docs/model-export.md):
  zimage.json                 shapes, files per component/precision, scheduler and VAE constants
  tokenizer/                  tokenizer.json + tokenizer_config.json (with chat_template)
  text_encoder/model.<p>.onnx input_ids [1, L] int64 -> hidden [1, L, C] (second-to-last layer)
  transformer/{fused,unfused}.<p>.onnx
                              x_tokens [1, Nx, 64], x_pad_mask [1, Nx] bool, cap_feats [1, Nc, C],
                              cap_pad_mask [1, Nc] bool, x_cos/x_sin [Nx, D/2], cap_cos/cap_sin
                              [Nc, D/2], timestep [1] (already (1000 - t) / 1000) -> out [1, Nx, 64];
                              Nx, Nc dynamic multiples of 32; fused = com.microsoft.MultiHeadAttention
  vae_decoder/model.<p>.onnx  latents [1, 16, h, w] (already / scaling + shift) -> image [1, 3, 8h, 8w]

Why a wrapper instead of exporting forward(): diffusers' forward takes Python lists, builds masks with
boolean assignment and applies RoPE with complex numbers, none of which exports. The wrapper calls
the real modules (embedders, blocks, final layer) and swaps only the attention processor for one that
takes RoPE as cos/sin tables.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

FORMAT_VERSION = 1
SEQ_MULTI_OF = 32
PATCH = 2
TINY_PROMPT = "A red fox in the snow, watercolor"
TINY_SIZE = (64, 96)  # height, width: not square, so a transposed axis cannot pass the parity test
TINY_SEED = 42
TINY_STEPS = 9


# ----------------------------------------------------------------------------------------------
# Attention: a custom op that exports to com.microsoft.MultiHeadAttention


@torch.library.custom_op("zimage::mha", mutates_args=())
def mha(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_heads: int) -> torch.Tensor:
    b, s, e = q.shape
    d = e // num_heads

    def heads(t: torch.Tensor) -> torch.Tensor:
        return t.view(b, s, num_heads, d).transpose(1, 2)

    out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
    return out.transpose(1, 2).reshape(b, s, e)


@mha.register_fake
def _mha_fake(q, k, v, num_heads):  # noqa: ANN001
    return torch.empty_like(q)


def _mha_to_onnx(q, k, v, num_heads: int):  # noqa: ANN001
    import onnxscript

    _register_mha_schema()
    msft = onnxscript.values.Opset("com.microsoft", 1)
    return msft.MultiHeadAttention(q, k, v, num_heads=num_heads)


def _register_mha_schema() -> None:
    """The onnx package knows no com.microsoft ops; onnxscript needs a schema to emit one. Only
    the inputs we use (query, key, value) and the num_heads attribute are declared; ORT's own
    schema (contrib_defs) has more optional inputs, which a node may leave out."""
    import onnx
    from onnx.defs import OpSchema

    try:
        onnx.defs.get_schema("MultiHeadAttention", 1, "com.microsoft")
        return
    except onnx.defs.SchemaError:
        pass
    param = OpSchema.FormalParameter
    schema = OpSchema(
        "MultiHeadAttention",
        "com.microsoft",
        1,
        inputs=[param("query", "T"), param("key", "T"), param("value", "T")],
        outputs=[param("output", "T")],
        type_constraints=[("T", ["tensor(float)", "tensor(float16)", "tensor(bfloat16)"], "")],
        attributes=[OpSchema.Attribute("num_heads", OpSchema.AttrType.INT, "heads")],
    )
    onnx.defs.register_schema(schema)


# ----------------------------------------------------------------------------------------------
# Static-shape reshapes. torch.export spells a reshape with dynamic dims as Shape -> Slice ->
# Concat on int64 tensors; the WebGPU EP has no kernels for those int64 ops, so ORT puts them on
# the CPU and a GPU session with CPU fallback disabled refuses to start (seen on an H100 and an
# H200, 2026-11-26: the text encoder's GQA expand and the VAE's mid-block attention). These ops
# export to a single Reshape with a constant target (ONNX semantics: 0 copies a dim, -1 infers)
# or to Reshape(x, Shape(like)).


@torch.library.custom_op("zimage::reshape", mutates_args=())
def reshape_static(x: torch.Tensor, shape: list[int]) -> torch.Tensor:
    target = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(target).clone()


@reshape_static.register_fake
def _reshape_static_fake(x, shape):  # noqa: ANN001
    target = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(target).clone()


def _reshape_static_onnx(x, shape: list[int]):  # noqa: ANN001
    from onnxscript import opset20 as op

    return op.Reshape(x, op.Constant(value_ints=list(shape)))


@torch.library.custom_op("zimage::reshape_as", mutates_args=())
def reshape_as(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return x.reshape(like.shape).clone()


@reshape_as.register_fake
def _reshape_as_fake(x, like):  # noqa: ANN001
    return x.new_empty(like.shape)


def _reshape_as_onnx(x, like):  # noqa: ANN001
    from onnxscript import opset20 as op

    return op.Reshape(x, op.Shape(like))


def repeat_kv_static(hidden_states: torch.Tensor, n_rep: int) -> torch.Tensor:
    """transformers' repeat_kv (kv head i serves query heads i*n_rep .. i*n_rep+n_rep-1) without
    an Expand to a computed shape: stack n_rep copies, reshape to a constant target."""
    if n_rep == 1:
        return hidden_states
    _, kv, _, d = hidden_states.shape
    stacked = torch.stack([hidden_states] * n_rep, dim=2)  # [1, kv, n_rep, S, D]
    return torch.ops.zimage.reshape(stacked, [1, kv * n_rep, -1, d])


class StaticVaeAttnProcessor:
    """diffusers' AttnProcessor2_0 for the VAE mid-block (batch 1, no mask, no spatial norm),
    with constant-target reshapes: [1, C, H, W] -> [1, HW, C] -> attention -> [1, C, H, W]."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        residual = hidden_states
        channels = hidden_states.shape[1]
        x = torch.ops.zimage.reshape(hidden_states, [1, channels, -1]).transpose(1, 2)
        if attn.group_norm is not None:
            x = attn.group_norm(x.transpose(1, 2)).transpose(1, 2)
        q, k, v = attn.to_q(x), attn.to_k(x), attn.to_v(x)
        d = k.shape[-1] // attn.heads

        def heads(t: torch.Tensor) -> torch.Tensor:
            return torch.ops.zimage.reshape(t, [1, -1, attn.heads, d]).transpose(1, 2)

        qh, kh, vh = heads(q), heads(k), heads(v)
        scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(d))
        out = torch.matmul(torch.softmax(scores, dim=-1), vh)
        out = torch.ops.zimage.reshape(out.transpose(1, 2), [1, -1, attn.heads * d])
        out = attn.to_out[0](out)
        out = torch.ops.zimage.reshape_as(out.transpose(-1, -2), residual)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, S, H, D]; cos/sin [S, D/2]. The same rotation as diffusers' complex multiply of
    adjacent pairs (x0 + i x1)(c + i s), computed in fp32 as diffusers does."""
    xf = x.float().reshape(*x.shape[:-1], -1, 2)
    x0, x1 = xf[..., 0], xf[..., 1]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    out = torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(3)
    return out.type_as(x)


class OnnxAttnProcessor:
    """Replaces ZSingleStreamAttnProcessor: same projections and qk norms, RoPE from cos/sin."""

    def __init__(self, fused: bool):
        self.fused = fused

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, freqs_cis=None):  # noqa: ANN001
        q = attn.to_q(hidden_states).unflatten(-1, (attn.heads, -1))
        k = attn.to_k(hidden_states).unflatten(-1, (attn.heads, -1))
        v = attn.to_v(hidden_states).unflatten(-1, (attn.heads, -1))
        if attn.norm_q is not None:
            q = attn.norm_q(q)
        if attn.norm_k is not None:
            k = attn.norm_k(k)
        cos, sin = freqs_cis
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if self.fused:
            out = torch.ops.zimage.mha(q.flatten(2), k.flatten(2), v.flatten(2), attn.heads)
        else:
            # Unfused on purpose: explicit matmul-softmax-matmul (the `math` backend), which
            # materialises the S x S score matrix per head.
            qh, kh, vh = (t.transpose(1, 2) for t in (q, k, v))
            scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(qh.shape[-1]))
            out = torch.matmul(torch.softmax(scores.float(), dim=-1).type_as(vh), vh)
            out = out.transpose(1, 2).flatten(2)
        return attn.to_out[0](out)


class TransformerWrapper(nn.Module):
    """Batch-1, tensor-only forward over the real ZImageTransformer2DModel modules."""

    def __init__(self, model, fused: bool):  # noqa: ANN001
        super().__init__()
        self.m = model
        for block in [*model.noise_refiner, *model.context_refiner, *model.layers]:
            block.attention.set_processor(OnnxAttnProcessor(fused))

    def forward(self, x_tokens, x_pad_mask, cap_feats, cap_pad_mask, x_cos, x_sin, cap_cos, cap_sin, timestep):  # noqa: ANN001
        m = self.m
        # Graph I/O is fp32 whatever the weights' precision (ORT's JS API has no bf16 tensors).
        dtype = m.x_pad_token.dtype
        x_tokens, cap_feats = x_tokens.to(dtype), cap_feats.to(dtype)
        adaln = m.t_embedder(timestep * m.t_scale).type_as(x_tokens)
        x = m.all_x_embedder[f"{PATCH}-1"](x_tokens)
        x = torch.where(x_pad_mask[..., None], m.x_pad_token.to(x.dtype), x)
        for layer in m.noise_refiner:
            x = layer(x, None, (x_cos, x_sin), adaln)
        c = m.cap_embedder(cap_feats)
        c = torch.where(cap_pad_mask[..., None], m.cap_pad_token.to(c.dtype), c)
        for layer in m.context_refiner:
            c = layer(c, None, (cap_cos, cap_sin))
        # Stream order [image, caption], as diffusers' basic mode.
        u = torch.cat([x, c], dim=1)
        cos, sin = torch.cat([x_cos, cap_cos], dim=0), torch.cat([x_sin, cap_sin], dim=0)
        for layer in m.layers:
            u = layer(u, None, (cos, sin), adaln)
        u = m.all_final_layer[f"{PATCH}-1"](u, c=adaln)
        return u[:, : x_tokens.shape[1]].float()


def restore_processors(model) -> None:  # noqa: ANN001
    """Give the model back diffusers' own attention processor (the wrapper swaps it)."""
    from diffusers.models.transformers.transformer_z_image import ZSingleStreamAttnProcessor

    for block in [*model.noise_refiner, *model.context_refiner, *model.layers]:
        block.attention.set_processor(ZSingleStreamAttnProcessor())


class TextEncoderWrapper(nn.Module):
    """input_ids [1, L] -> second-to-last hidden state [1, L, C]. The runtime never pads (batch 1),
    which for a causal model equals diffusers' right-padded run.

    The causal mask and the positions come in as inputs (attention_bias [1, 1, L, L], 0 on and
    below the diagonal and the fp32 minimum above; position_ids [1, L] as float): built inside
    the graph they need int64 Range/LessOrEqual/Where, which the WebGPU EP has no kernels for,
    so the session would fail with CPU fallback disabled (seen on an H100, 2026-11-26)."""

    def __init__(self, model):  # noqa: ANN001
        super().__init__()
        self.m = model

    def forward(self, input_ids, attention_bias, position_ids):  # noqa: ANN001
        dtype = self.m.embed_tokens.weight.dtype
        out = self.m(
            input_ids=input_ids,
            attention_mask=attention_bias.to(dtype),
            position_ids=position_ids,
            output_hidden_states=True,
        )
        return out.hidden_states[-2].float()


def text_encoder_inputs(input_ids):  # noqa: ANN001
    n = input_ids.shape[1]
    bias = torch.full((n, n), torch.finfo(torch.float32).min).triu(1)[None, None]
    return {"input_ids": input_ids, "attention_bias": bias, "position_ids": torch.arange(n, dtype=torch.float32)[None]}


class VaeDecoderWrapper(nn.Module):
    def __init__(self, vae):  # noqa: ANN001
        super().__init__()
        self.vae = vae

    def forward(self, latents):  # noqa: ANN001
        return self.vae.decode(latents.to(self.vae.dtype), return_dict=False)[0].float()


# ----------------------------------------------------------------------------------------------
# Host-side helpers the runtime re-implements in TypeScript (used here for references and shapes)


def rope_tables(axes_dims, theta, pos_ids):  # noqa: ANN001
    """cos/sin [S, sum(axes)/2] for integer positions [S, 3], as diffusers' RopeEmbedder."""
    parts_cos, parts_sin = [], []
    for axis, d in enumerate(axes_dims):
        freqs = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        angles = torch.outer(pos_ids[:, axis].to(torch.float64), freqs).float()
        parts_cos.append(torch.cos(angles))
        parts_sin.append(torch.sin(angles))
    return torch.cat(parts_cos, dim=-1), torch.cat(parts_sin, dim=-1)


def pad_len(n: int) -> int:
    return n + (-n) % SEQ_MULTI_OF


def transformer_inputs(cfg, latents, cap_feats, t_norm):  # noqa: ANN001
    """The wrapper's inputs for one latent [1, 16, h, w] and caption features [L, C]."""
    _, ch, h, w = latents.shape
    ht, wt = h // PATCH, w // PATCH
    tokens = (
        latents[0].view(ch, 1, 1, ht, PATCH, wt, PATCH).permute(1, 3, 5, 2, 4, 6, 0).reshape(ht * wt, -1)
    )
    n_img, n_cap = ht * wt, cap_feats.shape[0]
    nx, nc = pad_len(n_img), pad_len(n_cap)
    x = torch.cat([tokens, tokens[-1:].repeat(nx - n_img, 1)])
    c = torch.cat([cap_feats, cap_feats[-1:].repeat(nc - n_cap, 1)])
    cap_pos = torch.stack([torch.arange(1, nc + 1), torch.zeros(nc), torch.zeros(nc)], dim=-1).long()
    hh, ww = torch.meshgrid(torch.arange(ht), torch.arange(wt), indexing="ij")
    img_pos = torch.stack([torch.full((n_img,), nc + 1), hh.flatten(), ww.flatten()], dim=-1).long()
    img_pos = torch.cat([img_pos, torch.zeros(nx - n_img, 3, dtype=torch.long)])
    x_cos, x_sin = rope_tables(cfg["axes_dims"], cfg["rope_theta"], img_pos)
    c_cos, c_sin = rope_tables(cfg["axes_dims"], cfg["rope_theta"], cap_pos)
    return {
        "x_tokens": x[None].float(),
        "x_pad_mask": (torch.arange(nx) >= n_img)[None],
        "cap_feats": c[None].float(),
        "cap_pad_mask": (torch.arange(nc) >= n_cap)[None],
        "x_cos": x_cos,
        "x_sin": x_sin,
        "cap_cos": c_cos,
        "cap_sin": c_sin,
        "timestep": torch.tensor([t_norm], dtype=torch.float32),
    }


# ----------------------------------------------------------------------------------------------
# Export


def _dyn(*names):  # noqa: ANN002
    return {i: torch.export.Dim.DYNAMIC for i in names}


def export_onnx(module: nn.Module, inputs: dict, out: Path, dynamic: dict, fused: bool = False) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    table = {
        torch.ops.zimage.reshape.default: _reshape_static_onnx,
        torch.ops.zimage.reshape_as.default: _reshape_as_onnx,
    }
    if fused:
        table[torch.ops.zimage.mha.default] = _mha_to_onnx
    program = torch.onnx.export(
        module,
        args=(),
        kwargs=inputs,
        dynamo=True,
        dynamic_shapes=dynamic,
        custom_translation_table=table,
        optimize=True,
    )
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


def export_transformer(model, cfg, out_dir: Path, precision: str, example) -> dict:  # noqa: ANN001
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
        files[variant] = {precision: str(path.relative_to(out_dir))}
    return files


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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--tiny", action="store_true")
    mode.add_argument("--full-width", action="store_true")
    mode.add_argument("--from-pretrained", metavar="DIR")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--layers", type=int, default=8, help="main blocks for --full-width (8 x 354 MB fp16 > 2 GB)")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None,
                   help="transformer precision (default fp32 for --tiny, fp16 otherwise)")
    args = p.parse_args()

    torch.manual_seed(0)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    sys.path.insert(0, str(Path(__file__).parent))
    import components  # noqa: PLC0415

    if args.tiny:
        components.build_tiny(args.out, args.precision or "fp32")
    elif args.full_width:
        components.build_full_width(args.out, args.precision or "fp16", args.layers)
    else:
        components.build_from_pretrained(Path(args.from_pretrained), args.out, args.precision or "bf16")


if __name__ == "__main__":
    main()
