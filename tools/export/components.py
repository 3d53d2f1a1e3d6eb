"""Build (tiny / full-width) or load (pretrained) the Z-Image components and export them through
onnx_writer. The tiny fixture's reference tensors are references.py's (export_zimage.py calls it
after build_tiny). See export_zimage.py for the contract."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from graph_wrappers import TextEncoderWrapper, text_encoder_inputs, transformer_inputs
from onnx_writer import (
    GRAPH_REWRITES,
    check_model_files,
    export_text_encoder,
    export_transformer,
    export_vae,
    transformer_config,
    write_manifest,
)

TINY_PROMPT = "A red fox in the snow, watercolor"
TINY_SIZE = (64, 96)  # height, width: not square, so a transposed axis cannot pass the parity test
TINY_SEED = 42
TINY_STEPS = 9

CHAT_TEMPLATE = (
    # Qwen3's template, reduced to what the Z-Image pipeline renders: user messages and the
    # generation prompt with thinking enabled (no empty <think> block).
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]
# Qwen2/Qwen3's pre-tokenizer split pattern (tokenizer.json "Split" with behavior Isolated).
QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CORPUS = [
    "A red fox in the snow, watercolor. A cat sitting on a wooden chair, oil painting.",
    "Portrait of an old fisherman, dramatic light, 35mm photo, highly detailed.",
    "A futuristic city at night with neon signs and rain reflections on the street.",
    "一只猫坐在窗台上，阳光明媚。一幅为名为造相的项目设计的创意海报。",
    "Café au lait, crème brûlée, naïve façade — unicode text 🐱🦊 and numbers 12345.",
    "The quick brown fox jumps over the lazy dog. Mountains, rivers, forests and lakes.",
]


def build_tokenizer(out_dir: Path):  # noqa: ANN201
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=480, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", model_max_length=131072
    )
    hf.chat_template = CHAT_TEMPLATE
    path = out_dir / "tokenizer"
    hf.save_pretrained(str(path))
    # The runtime reads the template from tokenizer_config.json; keep it there whatever the
    # transformers version's save layout.
    cfg_path = path / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["chat_template"] = CHAT_TEMPLATE
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    return hf


def randomize(model, std: float = 0.08) -> None:  # noqa: ANN001
    """Random weights that exercise every parameter: norm weights near 1, pad tokens non-zero."""
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g) * std
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + noise)
            elif "pad_token" in name:
                p.copy_(noise * 10)
            else:
                p.copy_(noise)


def tiny_text_encoder(vocab: int, hidden: int, layers: int, heads: int, kv: int, head_dim: int, inter: int):  # noqa: ANN201, PLR0913
    from transformers import Qwen3Config, Qwen3Model

    cfg = Qwen3Config(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=head_dim,
        max_position_embeddings=1024,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
    )
    cfg._attn_implementation = "eager"  # plain ops: exports everywhere
    torch.manual_seed(7)
    return Qwen3Model(cfg).eval()


def tiny_vae(block_out_channels, layers_per_block: int, groups: int):  # noqa: ANN001, ANN201
    from diffusers import AutoencoderKL

    n = len(block_out_channels)
    torch.manual_seed(11)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=tuple(block_out_channels),
        layers_per_block=layers_per_block,
        latent_channels=16,
        norm_num_groups=groups,
        scaling_factor=0.3611,
        shift_factor=0.1159,
        use_quant_conv=False,
        use_post_quant_conv=False,
    ).eval()


def zimage_transformer(**kw):  # noqa: ANN003, ANN201
    from diffusers import ZImageTransformer2DModel

    torch.manual_seed(3)
    return ZImageTransformer2DModel(all_patch_size=(2,), all_f_patch_size=(1,), in_channels=16, **kw).eval()


def chat_ids(hf_tok, prompt: str) -> torch.Tensor:  # noqa: ANN001
    text = hf_tok.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True, enable_thinking=True
    )
    return torch.tensor([hf_tok(text).input_ids], dtype=torch.long)


def export_all(out: Path, name: str, hf_tok, te, tr, vae, precision: str, te_precision: str, max_size: int,  # noqa: ANN001, PLR0913
               graph_rewrites: bool = True):
    """Export the three graphs with example inputs at the tiny fixture's shapes; graph_rewrites:
    the fused transformer graph gets onnx_writer.rewrite_fused (False: the plain export)."""
    h, w = TINY_SIZE
    scale = 2 ** (len(vae.config.block_out_channels) - 1)
    ids = chat_ids(hf_tok, TINY_PROMPT)
    with torch.no_grad():
        feats = TextEncoderWrapper(te)(**text_encoder_inputs(ids))[0].float()
    latents = torch.randn(1, 16, h // scale, w // scale)
    example = transformer_inputs(transformer_config(tr), latents, feats, 0.5)
    # Text encoder and VAE: fp32 always (offload `cpu` runs them on the CPU EP, which lacks bf16
    # kernels), plus the GPU precision so offload `none`/`model` need not hold fp32 weights on the
    # GPU (Qwen3-4B: ~8 GB in bf16 instead of ~16 GB). fp32 first: .to() converts in place.
    side = [te_precision] + ([precision] if precision != te_precision else [])
    files = {"text_encoder": {}, "vae_decoder": {}}
    for p in side:
        files["text_encoder"].update(export_text_encoder(te, out, p, ids))
        files["vae_decoder"].update(export_vae(vae, out, p, latents))
    files["transformer"] = export_transformer(tr, transformer_config(tr), out, precision, example, graph_rewrites)
    te_cfg = {"hidden_size": te.config.hidden_size, "layers": te.config.num_hidden_layers, "hidden_state": -2}
    tcfg = {**transformer_config(tr), "fused_graph_rewrites": GRAPH_REWRITES if graph_rewrites else []}
    write_manifest(out, name, tcfg, te_cfg, vae, files, max_size)
    check_model_files(out, files)


def build_tiny(out: Path, precision: str, graph_rewrites: bool = True):  # noqa: ANN201
    """Exports the tiny fixture; returns (tokenizer, text encoder, transformer, VAE) for references.save."""
    hf_tok = build_tokenizer(out)
    te = tiny_text_encoder(len(hf_tok), hidden=32, layers=3, heads=4, kv=2, head_dim=8, inter=64)
    tr = zimage_transformer(dim=64, n_layers=2, n_refiner_layers=1, n_heads=2, n_kv_heads=2, cap_feat_dim=32,
                            axes_dims=[8, 12, 12], axes_lens=[1024, 512, 512])
    randomize(tr)
    vae = tiny_vae([8, 16, 16, 16], 1, 4)
    export_all(out, "z-image-tiny", hf_tok, te, tr, vae, precision, "fp32", max_size=1024, graph_rewrites=graph_rewrites)
    return hf_tok, te, tr, vae


def build_full_width(out: Path, precision: str, layers: int, graph_rewrites: bool = True) -> None:
    """The real 3840-wide transformer (random weights, `layers` main blocks); a small text
    encoder with the real 2560-wide output and the real VAE decoder shape."""
    hf_tok = build_tokenizer(out)
    te = tiny_text_encoder(len(hf_tok), hidden=2560, layers=2, heads=20, kv=4, head_dim=128, inter=1024)
    tr = zimage_transformer(dim=3840, n_layers=layers, n_refiner_layers=2, n_heads=30, n_kv_heads=30,
                            cap_feat_dim=2560)
    vae = tiny_vae([128, 256, 512, 512], 2, 32)
    export_all(out, f"z-image-full-width-{layers}l", hf_tok, te, tr, vae, precision, "fp32", max_size=2048,
               graph_rewrites=graph_rewrites)


def build_from_pretrained(src: Path, out: Path, precision: str, graph_rewrites: bool = True) -> None:
    """A local snapshot of Tongyi-MAI/Z-Image-Turbo (diffusers layout). The transformer is
    exported in `precision`; text encoder and VAE in fp32 (CPU offload needs fp32) and fp16."""
    from diffusers import ZImagePipeline

    pipe = ZImagePipeline.from_pretrained(str(src), torch_dtype=torch.float32)
    pipe.tokenizer.save_pretrained(str(out / "tokenizer"))
    cfg_path = out / "tokenizer" / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.setdefault("chat_template", pipe.tokenizer.chat_template)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    te = pipe.text_encoder.eval()
    te.config._attn_implementation = "eager"
    export_all(out, "z-image-turbo", pipe.tokenizer, te, pipe.transformer.eval(), pipe.vae.eval(), precision,
               "fp32", max_size=2048, graph_rewrites=graph_rewrites)

