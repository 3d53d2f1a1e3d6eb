"""Export-friendly forwards over the real diffusers/transformers modules (tensor-only, batch 1,
RoPE as cos/sin tables, static reshapes) and the host-side inputs the runtime builds the same way.
See export_zimage.py for why wrappers and for the model directory contract."""
from __future__ import annotations

import math

import torch
from torch import nn

import custom_ops  # noqa: F401  (registers torch.ops.zimage.*, which the processors below call)

SEQ_MULTI_OF = 32
PATCH = 2


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

