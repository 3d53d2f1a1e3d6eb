"""diffusers' own outputs for the tiny fixture's fixed input, saved as raw little-endian tensors
with a manifest (references/manifest.json), plus a self-check of the exported ONNX graphs against
them with Python onnxruntime (so a broken export fails here, not later in the TypeScript tests)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from components import TINY_PROMPT, TINY_SEED, TINY_SIZE, TINY_STEPS, chat_ids
from graph_wrappers import text_encoder_inputs, transformer_inputs
from onnx_writer import transformer_config


def scheduler_refs(manifest: dict, ref_dir: Path) -> None:
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.z_image.pipeline_z_image import get_default_z_image_sigmas

    for n in (1, 2, 8, 9, 50):
        s = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
        s.set_timesteps(sigmas=get_default_z_image_sigmas(n), mu=0.0)
        save_tensor(ref_dir, manifest, f"sched_default_{n}_sigmas", s.sigmas.float())
        save_tensor(ref_dir, manifest, f"sched_default_{n}_timesteps", s.timesteps.float())
        # The original Z-Image pipeline: sigma_min = 0, so the last of n steps has dt = 0.
        legacy = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
        legacy.sigma_min = 0.0
        legacy.set_timesteps(n)
        save_tensor(ref_dir, manifest, f"sched_terminal_zero_{n}_sigmas", legacy.sigmas.float())
        save_tensor(ref_dir, manifest, f"sched_terminal_zero_{n}_timesteps", legacy.timesteps.float())


def save(out: Path, hf_tok, te, tr, vae) -> None:  # noqa: ANN001
    from diffusers import FlowMatchEulerDiscreteScheduler, ZImagePipeline
    from diffusers.pipelines.z_image.pipeline_z_image import get_default_z_image_sigmas

    ref_dir = out / "references"
    ref_dir.mkdir()
    manifest: dict = {}
    h, w = TINY_SIZE
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    pipe = ZImagePipeline(scheduler=scheduler, vae=vae, text_encoder=te, tokenizer=hf_tok, transformer=tr)

    ids = chat_ids(hf_tok, TINY_PROMPT)
    with torch.no_grad():
        embeds = pipe._encode_prompt(TINY_PROMPT, device="cpu")[0]
    latents0 = torch.randn((1, 16, h // 8, w // 8), generator=torch.Generator().manual_seed(TINY_SEED))

    scheduler.set_timesteps(sigmas=get_default_z_image_sigmas(TINY_STEPS), mu=0.0)
    t_norm = float((1000 - scheduler.timesteps[0]) / 1000)
    with torch.no_grad():
        first = tr([latents0[0].unsqueeze(1)], torch.tensor([t_norm]), [embeds], return_dict=False)[0][0]
        final = pipe(TINY_PROMPT, height=h, width=w, num_inference_steps=TINY_STEPS, guidance_scale=0.0,
                     latents=latents0.clone(), output_type="latent").images
        image = pipe(TINY_PROMPT, height=h, width=w, num_inference_steps=TINY_STEPS, guidance_scale=0.0,
                     latents=latents0.clone(), output_type="np").images[0]

    save_tensor(ref_dir, manifest, "input_ids", ids[0])
    save_tensor(ref_dir, manifest, "prompt_embeds", embeds.float())
    save_tensor(ref_dir, manifest, "latents_init", latents0)
    save_tensor(ref_dir, manifest, "transformer_t_norm", torch.tensor([t_norm]))
    save_tensor(ref_dir, manifest, "transformer_out", first[:, 0].float())  # [16, h/8, w/8]
    save_tensor(ref_dir, manifest, "final_latents", final.float())
    save_tensor(ref_dir, manifest, "image_float", torch.from_numpy(np.ascontiguousarray(image)).float())
    save_tensor(ref_dir, manifest, "image_uint8", np.round(image * 255).clip(0, 255).astype(np.uint8))
    scheduler_refs(manifest, ref_dir)
    meta = {"prompt": TINY_PROMPT, "height": h, "width": w, "seed_note": "latents_init is torch.randn with "
            f"torch.Generator().manual_seed({TINY_SEED}); the runtime draws its own noise", "steps": TINY_STEPS,
            "guidance_scale": 0.0, "tensors": manifest}
    (ref_dir / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    self_check(out, ids, embeds, latents0, t_norm, first[:, 0], tr)


def save_tensor(ref_dir: Path, manifest: dict, name: str, t) -> None:  # noqa: ANN001
    arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    dtype = {np.float32: "float32", np.int64: "int64", np.uint8: "uint8", np.float64: "float64"}[arr.dtype.type]
    (ref_dir / f"{name}.bin").write_bytes(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes())
    manifest[name] = {"dtype": dtype, "shape": list(arr.shape), "file": f"{name}.bin"}


def rel_err(a, b) -> float:  # noqa: ANN001
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def self_check(out: Path, ids, embeds, latents0, t_norm, first, tr) -> None:  # noqa: ANN001, PLR0913
    import onnxruntime as ort

    manifest = json.loads((out / "zimage.json").read_text())
    te = ort.InferenceSession(str(out / manifest["files"]["text_encoder"]["fp32"]))
    hidden = te.run(None, {k: v.numpy() for k, v in text_encoder_inputs(ids).items()})[0][0]
    print(f"  self-check text encoder rel err {rel_err(hidden, embeds):.2e}")
    inputs = transformer_inputs(transformer_config(tr), latents0, embeds.float(), t_norm)
    feeds = {k: v.numpy() for k, v in inputs.items()}
    preds = {}
    for variant in ("fused", "unfused"):
        sess = ort.InferenceSession(str(out / manifest["files"]["transformer"][variant]["fp32"]))
        tokens = sess.run(None, feeds)[0][0]
        _, _, hl, wl = latents0.shape
        n = (hl // 2) * (wl // 2)
        pred = tokens[:n].reshape(hl // 2, wl // 2, 2, 2, 16).transpose(4, 0, 2, 1, 3).reshape(16, hl, wl)
        err = rel_err(pred, first.numpy())
        print(f"  self-check transformer {variant} rel err {err:.2e}")
        assert err < 1e-4, f"{variant} transformer export disagrees with diffusers ({err})"
        preds[variant] = pred
    # The fused graph (MultiHeadAttention and, unless --no-graph-rewrites, the fused norms and
    # RoPE) against the plain unfused one on the same feeds: the rewrites change fp32 rounding only.
    err = rel_err(preds["fused"], preds["unfused"])
    print(f"  self-check transformer fused vs unfused rel err {err:.2e}")
    assert err < 1e-5, f"the fused and unfused transformer graphs disagree ({err})"
