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
                              Nx, Nc dynamic multiples of 32; fused = com.microsoft.MultiHeadAttention,
                              its RMSNorms as SimplifiedLayerNormalization and its RoPE as
                              com.microsoft.RotaryEmbedding (fuse_graph.py; --no-graph-rewrites: not);
                              unfused = plain matmul-softmax-matmul attention, no rewrites
  vae_decoder/model.<p>.onnx  latents [1, 16, h, w] (already / scaling + shift) -> image [1, 3, 8h, 8w]

Why a wrapper instead of exporting forward(): diffusers' forward takes Python lists, builds masks with
boolean assignment and applies RoPE with complex numbers, none of which exports. The wrapper calls
the real modules (embedders, blocks, final layer) and swaps only the attention processor for one that
takes RoPE as cos/sin tables.

Modules (imports go one way, so each loads once and its torch custom ops register once):
  custom_ops.py       torch custom ops (attention, static reshapes) and their ONNX translations
  graph_wrappers.py   the export-friendly forwards and the host-side inputs (RoPE tables, padding)
  onnx_writer.py      torch.onnx.export per component, the shape-op check, the fused graph's
                      rewrites, the referenced-files check, zimage.json
  fuse_graph.py       the rewrites (RMSNorm, RoPE chains -> one ORT kernel each); also a command line
  components.py       tokenizer and models (tiny, full-width, pretrained) -> onnx_writer
  references.py       diffusers' outputs for the tiny fixture and the ONNX self-check
  export_zimage.py    this command line
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

import components
import references


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
    p.add_argument("--no-graph-rewrites", dest="graph_rewrites", action="store_false",
                   help="write the fused transformer as exported (decomposed RMSNorm and RoPE), for benchmarks")
    args = p.parse_args()

    torch.manual_seed(0)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)

    if args.tiny:
        hf_tok, te, tr, vae = components.build_tiny(args.out, args.precision or "fp32", args.graph_rewrites)
        references.save(args.out, hf_tok, te, tr, vae)
    elif args.full_width:
        components.build_full_width(args.out, args.precision or "fp16", args.layers, args.graph_rewrites)
    else:
        components.build_from_pretrained(Path(args.from_pretrained), args.out, args.precision or "bf16",
                                         args.graph_rewrites)


if __name__ == "__main__":
    main()
