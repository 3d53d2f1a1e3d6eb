#!/usr/bin/env python3
"""The PyTorch side of the CUDA bench (bench/gpu/cuda-bench.ts): builds the full-width Z-Image
components once, exports them with the project's exporter from that one module instance, and times
diffusers' own ZImageTransformer2DModel.forward with the very same weights under each SDPA backend.

Writes under --out:
  fw<N>/        model directory, N main layers (fp16 + bf16), TE and VAE (fp32, fp16, bf16);
                transformer/plain.<p>.onnx is the plain export (export_zimage.py
                --no-graph-rewrites), fused.<p>.onnx what the exporter writes: plain rewritten by
                onnx_writer.rewrite_fused (RMSNorm and RoPE as one kernel each), naming plain's
                data file
  fw2/          the first 2 of those layers (plain, fused and unfused, fp16 + bf16), TE/VAE hard-linked
  inputs/       the transformer's graph inputs at --size (4096 image + 512 caption tokens at 1024)
  ref-<p>-<n>.bin  PyTorch's output (flash SDPA) per precision and layer count, fp32 [16, h, w]
  fw*/transformer/fused{r,n}.<p>.onnx  one rewrite each of plain.<p>.onnx (tools/export/fuse_graph.py:
                RoPE only as an fp32 RotaryEmbedding, RMSNorm only as SimplifiedLayerNormalization)
  fw<N>p/       fw<N> with the plain transformer as its fused graph (symlinked folders, its own
                zimage.json): the pipeline over HTTP without the rewrites
  torch.json    timings, peaks, export durations, rewrites (the exporter's `fused` and the single
                ones), a PyTorch kernel profile (bf16, 2 layers, cuDNN SDPA); prep.done (or
                prep.failed) when finished

Exports run in forked children (copy-on-write views of the same fp32 module, each converting to
its precision: fp32 -> bf16 directly, as the PyTorch copies here), so the CPU work of export
overlaps the GPU timings. --tiny runs the same code at the fixture's dimensions on the CPU.
"""
from __future__ import annotations

import argparse
import copy
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

# The exporting process and its forked children never see the GPU: a parent that has touched
# CUDA (diffusers does at import when a GPU is visible) leaves forked children unable to export
# ("Cannot re-initialize CUDA in forked subprocess", H200 run 1). PyTorch's timings run in a
# second process (--timing) that loads this instance's saved state dict.
if "--timing" not in sys.argv:
    os.environ["CUDA_VISIBLE_DEVICES"] = ""

import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "export"))
# The exporter's modules (tools/export; export_zimage.py is only its command line since the split
# into modules without an import cycle).
import components as comp  # noqa: E402
import graph_wrappers as gw  # noqa: E402
import onnx_writer as ow  # noqa: E402

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
T_NORM = 0.5


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


def build(args):  # noqa: ANN001, ANN201
    out = args.out / f"fw{args.layers}"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    tok = comp.build_tokenizer(out)
    if args.tiny:
        te = comp.tiny_text_encoder(len(tok), hidden=32, layers=3, heads=4, kv=2, head_dim=8, inter=64)
        tr = comp.zimage_transformer(dim=64, n_layers=args.layers, n_refiner_layers=1, n_heads=2, n_kv_heads=2,
                                     cap_feat_dim=32, axes_dims=[8, 12, 12], axes_lens=[1024, 512, 512])
        vae = comp.tiny_vae([8, 16, 16, 16], 1, 4)
    else:  # components.build_full_width's shapes, kept as modules
        te = comp.tiny_text_encoder(len(tok), hidden=2560, layers=2, heads=20, kv=4, head_dim=128, inter=1024)
        tr = comp.zimage_transformer(dim=3840, n_layers=args.layers, n_refiner_layers=2, n_heads=30, n_kv_heads=30,
                                     cap_feat_dim=2560)
        vae = comp.tiny_vae([128, 256, 512, 512], 2, 32)
    return out, tok, te, tr, vae


def dynamic_shapes() -> dict:
    d = ow._dyn
    return {"x_tokens": d(1), "x_pad_mask": d(1), "cap_feats": d(1), "cap_pad_mask": d(1), "x_cos": d(0),
            "x_sin": d(0), "cap_cos": d(0), "cap_sin": d(0), "timestep": None}


def export_transformer(tr, example, folder: Path, precision: str, fused: bool, layers: int) -> dict | None:  # noqa: ANN001, PLR0913
    """unfused.<p>.onnx, or plain.<p>.onnx and the exporter's fused.<p>.onnx from it (the same
    rewrite export_zimage.py applies, so `fused` is what the runtime loads from an export)."""
    tr.layers = nn.ModuleList(list(tr.layers)[:layers])
    tr = tr.to(DTYPES[precision])
    path = folder / f"{'plain' if fused else 'unfused'}.{precision}.onnx"
    with torch.no_grad():
        ow.export_onnx(gw.TransformerWrapper(tr, fused).eval(), example, path, dynamic_shapes(), fused=fused)
    if not fused:
        return None
    summary = ow.rewrite_fused(path, folder / f"fused.{precision}.onnx")
    return {"variant": "fused", "precision": precision, "dir": folder.parent.name, "rc": 0, **summary}


def export_side(te, vae, tok, out: Path, precisions: list[str]) -> None:  # noqa: ANN001
    ids = comp.chat_ids(tok, comp.TINY_PROMPT)
    h, w = comp.TINY_SIZE
    latents = torch.randn(1, 16, h // 8, w // 8)
    for p in ["fp32", *precisions]:  # fp32 first: .to() converts in place
        ow.export_text_encoder(te, out, p, ids)
        ow.export_vae(vae, out, p, latents)


def run_task(name: str, fn, args, status: Path) -> None:  # noqa: ANN001
    t0 = time.time()
    try:
        torch.set_num_threads(2)
        result = fn(*args)
        status.write_text(json.dumps({"task": name, "ok": True, "seconds": time.time() - t0, "result": result}))
    except BaseException as err:  # noqa: BLE001 (a child reports everything, SystemExit included)
        status.write_text(json.dumps({"task": name, "ok": False, "seconds": time.time() - t0,
                                      "error": f"{err!r}\n{traceback.format_exc()[-2000:]}"}))


def start_exports(args, out: Path, small: Path, tok, te, tr, vae):  # noqa: ANN001, ANN201
    h, w = comp.TINY_SIZE
    feats = torch.randn(24, tr.config.cap_feat_dim)
    example = gw.transformer_inputs(ow.transformer_config(tr), torch.randn(1, 16, h // 8, w // 8), feats, T_NORM)
    tasks = [("side", export_side, (te, vae, tok, out, args.precisions))]
    for p in args.precisions:
        tasks.append((f"fused-{p}-{args.layers}", export_transformer,
                      (tr, example, out / "transformer", p, True, args.layers)))
        for variant in ("fused", "unfused"):
            tasks.append((f"{variant}-{p}-2", export_transformer,
                          (tr, example, small / "transformer", p, variant == "fused", 2)))
    ctx = mp.get_context("fork")
    status_dir = args.out / "status"
    status_dir.mkdir(exist_ok=True)
    pending = [(n, f, a, status_dir / f"{n}.json") for n, f, a in tasks]
    running: list = []
    return pending, running, ctx


def pump(pending: list, running: list, ctx, limit: int) -> None:  # noqa: ANN001
    running[:] = [p for p in running if p.is_alive()]
    while pending and len(running) < limit:
        name, fn, a, status = pending.pop(0)
        proc = ctx.Process(target=run_task, args=(name, fn, a, status), name=name)
        proc.start()
        log("export started:", name)
        running.append(proc)


def save_tensor(path: Path, t: torch.Tensor) -> dict:
    arr = t.detach().cpu().contiguous()
    if arr.dtype == torch.bool:
        arr = arr.to(torch.uint8)
    path.write_bytes(arr.numpy().tobytes())
    return {"dtype": {torch.uint8: "bool", torch.float32: "float32"}[arr.dtype], "shape": list(arr.shape)}


def time_call(fn, repeats: int, sync) -> list[float]:  # noqa: ANN001
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def torch_timings(args, tr, latents, feats, backends, save_refs: bool = True) -> list[dict]:  # noqa: ANN001
    from torch.nn.attention import SDPBackend, sdpa_kernel

    device = torch.device("cuda" if torch.cuda.is_available() and not args.tiny else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rows = []
    for p in args.precisions:
        m = copy.deepcopy(tr).to(device=device, dtype=DTYPES[p]).eval()
        full = list(m.layers)
        x = [latents[0].unsqueeze(1).to(device, DTYPES[p])]
        cap = [feats.to(device, DTYPES[p])]
        t = torch.tensor([T_NORM], device=device)
        for n in sorted({2, args.layers}):
            m.layers = nn.ModuleList(full[:n])
            for backend in backends:
                fn = lambda: m(x, t, cap, return_dict=False)  # noqa: E731
                row = {"precision": p, "layers": n, "backend": backend}
                try:
                    with torch.no_grad(), sdpa_kernel(getattr(SDPBackend, backend)):
                        if device.type == "cuda":
                            torch.cuda.reset_peak_memory_stats()
                            before = torch.cuda.memory_allocated()
                        times = time_call(fn, args.repeats, sync)
                        if device.type == "cuda":
                            row["peakExtraMiB"] = (torch.cuda.max_memory_allocated() - before) / 2**20
                        if backend == backends[0] and save_refs:  # the reference ORT is checked against
                            out = fn()[0][0][:, 0].float()
                            save_tensor(args.out / f"ref-{p}-{n}.bin", out)
                    row.update(medianMs=sorted(times)[(len(times) - 1) // 2], times=times)
                except Exception as err:  # noqa: BLE001
                    row["error"] = repr(err)[:500]
                log("torch", row)
                rows.append(row)
        del m
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--caption", type=int, default=512)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--precisions", default="fp16,bf16")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--timing", action="store_true", help="internal: the PyTorch timing process")
    args = p.parse_args()
    args.precisions = args.precisions.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    # One thread in the parent until every child is forked: an OpenMP pool created before fork()
    # can hang the children, and CUDA must not be initialised before it either.
    torch.set_num_threads(1)
    t0 = time.time()
    if args.timing:
        return timing_main(args)
    out, tok, te, tr, vae = build(args)
    small = args.out / "fw2"
    small.mkdir(parents=True, exist_ok=True)
    write_manifests(args, out, small, tr, te, vae)
    torch.save(tr.state_dict(), args.out / "transformer.fp32.pt")
    pending, running, ctx = start_exports(args, out, small, tok, te, tr, vae)
    pump(pending, running, ctx, len(pending))

    # The graph inputs at the bench size, from the same host-side code the exporter checks with.
    latents = torch.randn(1, 16, args.size // 8, args.size // 8, generator=torch.Generator().manual_seed(5))
    feats = torch.randn(args.caption, tr.config.cap_feat_dim, generator=torch.Generator().manual_seed(6))
    torch.save({"latents": latents, "feats": feats}, args.out / "latents.pt")
    inputs = gw.transformer_inputs(ow.transformer_config(tr), latents, feats, T_NORM)
    (args.out / "inputs").mkdir(exist_ok=True)
    manifest = {k: save_tensor(args.out / "inputs" / f"{k}.bin", v) for k, v in inputs.items()}
    (args.out / "inputs" / "inputs.json").write_text(json.dumps(manifest, indent=2))
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    timing = subprocess.Popen([sys.executable, __file__, "--timing", *sys.argv[1:]], env=env)

    for proc in running:
        proc.join()
    exports = [json.loads(st.read_text()) for st in sorted((args.out / "status").glob("*.json"))]
    failed = [e for e in exports if not e["ok"]]
    for e in failed:
        log("export FAILED", e["task"], e["error"])
    link_side(out, small)
    plain_dir(args, out)
    # The exporter's rewrite (each fused export task's), then the single rewrites of the plain graph.
    rewrites = [e["result"] for e in exports if e.get("result")]
    rewrites += rewrite_graphs(args, out, small) if not args.tiny else []
    (args.out / "exports.done").write_text("")
    log("exports finished in", round(time.time() - t0), "s")
    timing.wait()
    timed = json.loads((args.out / "timing.json").read_text()) if (args.out / "timing.json").exists() else {}
    info = {**timed, "layers": args.layers, "size": args.size, "caption": args.caption,
            "tokens": (args.size // 16) ** 2 + args.caption, "exports": exports, "rewrites": rewrites,
            "seconds": time.time() - t0}
    (args.out / "torch.json").write_text(json.dumps(info, indent=2))
    (args.out / ("prep.failed" if failed or timing.returncode else "prep.done")).write_text("")
    log("prep finished in", round(time.time() - t0), "s")


# fuse_graph.py flags per variant, and the precisions it is made for: one rewrite each, applied
# to the plain export (both together, --norm --rope native, are the exporter's `fused`).
REWRITES = {
    "fusedr": (["--rope", "fp32"], ["bf16"]),
    "fusedn": (["--norm"], ["bf16"]),
}


def rewrite_graphs(args, out: Path, small: Path) -> list[dict]:  # noqa: ANN001
    """The single graph rewrites of plain.<p>.onnx (seconds each: graphs only, the weights stay
    in the plain export's data file)."""
    done = []
    tool = ROOT / "tools" / "export" / "fuse_graph.py"
    for variant, (flags, precisions) in REWRITES.items():
        for p in [p for p in precisions if p in args.precisions]:
            for d in (small, out):
                src, dst = d / "transformer" / f"plain.{p}.onnx", d / "transformer" / f"{variant}.{p}.onnx"
                r = subprocess.run([sys.executable, str(tool), str(src), str(dst), *flags],
                                   capture_output=True, text=True, check=False)
                row = {"variant": variant, "precision": p, "dir": d.name, "rc": r.returncode}
                try:
                    row.update(json.loads(r.stdout.strip().splitlines()[-1]))
                except (IndexError, ValueError):
                    row["error"] = (r.stdout + r.stderr)[-1500:]
                log("rewrite", row)
                done.append(row)
    return done


def plain_dir(args, out: Path) -> None:  # noqa: ANN001
    """fw<N>p: fw<N> whose fused transformer is the plain export, for the pipeline over HTTP
    without the exporter's rewrites (cuda-cases.ts model 'plain')."""
    d = args.out / f"{out.name}p"
    d.mkdir(exist_ok=True)
    for sub in ("tokenizer", "text_encoder", "vae_decoder", "transformer"):
        link = d / sub
        if not link.exists():
            link.symlink_to(Path("..") / out.name / sub)
    manifest = json.loads((out / "zimage.json").read_text())
    manifest["name"] += "-plain"
    manifest["files"]["transformer"]["fused"] = {p: f"transformer/plain.{p}.onnx" for p in args.precisions}
    manifest["transformer"]["fused_graph_rewrites"] = []
    (d / "zimage.json").write_text(json.dumps(manifest, indent=2) + "\n")


def torch_profile(args, tr, latents, feats) -> dict:  # noqa: ANN001
    """Where PyTorch eager's time goes: CUDA kernels of the 2-layer model in bf16 under cuDNN
    SDPA, per forward, grouped (GEMM, attention, the rest) and the top kernels."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.profiler import ProfilerActivity, profile

    device = torch.device("cuda")
    m = copy.deepcopy(tr).to(device=device, dtype=torch.bfloat16).eval()
    m.layers = nn.ModuleList(list(m.layers)[:2])
    x = [latents[0].unsqueeze(1).to(device, torch.bfloat16)]
    cap = [feats.to(device, torch.bfloat16)]
    t = torch.tensor([T_NORM], device=device)
    runs = 3
    with torch.no_grad(), sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        for _ in range(2):
            m(x, t, cap, return_dict=False)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(runs):
                m(x, t, cap, return_dict=False)
            torch.cuda.synchronize()
    kernels = []
    for e in prof.key_averages():
        us = getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
        if us > 0 and not e.key.startswith("aten::"):
            kernels.append({"name": e.key[:160], "msPerForward": us / runs / 1000, "calls": e.count / runs})
    kernels.sort(key=lambda k: -k["msPerForward"])

    def group(name: str) -> str:
        n = name.lower()
        if any(w in n for w in ("flash", "fmha", "cudnn", "attention", "sdpa")):
            return "attention"
        if any(w in n for w in ("gemm", "nvjet", "xmma", "cutlass", "matmul")):
            return "gemm"
        return "other (elementwise, norms, RoPE, copies)"

    groups: dict[str, float] = {}
    for k in kernels:
        groups[group(k["name"])] = groups.get(group(k["name"]), 0) + k["msPerForward"]
    del m
    torch.cuda.empty_cache()
    return {"layers": 2, "precision": "bf16", "backend": "CUDNN_ATTENTION", "groupsMs": groups,
            "totalMs": sum(groups.values()), "kernels": len(kernels), "top": kernels[:30]}


def load_instance(args):  # noqa: ANN001, ANN201
    """The exported module instance again, from its saved state dict (built on the meta device,
    then given the saved tensors)."""
    kw = dict(dim=3840, n_layers=args.layers, n_refiner_layers=2, n_heads=30, n_kv_heads=30, cap_feat_dim=2560)
    with torch.device("meta"):
        tr = comp.zimage_transformer(**kw)
    tr.load_state_dict(torch.load(args.out / "transformer.fp32.pt", mmap=True), assign=True)
    if any(t.is_meta for t in [*tr.parameters(), *tr.buffers()]):
        tr = comp.zimage_transformer(**kw)
        tr.load_state_dict(torch.load(args.out / "transformer.fp32.pt"))
    return tr


def timing_main(args) -> None:  # noqa: ANN001
    torch.set_num_threads(4)
    tr = load_instance(args)
    data = torch.load(args.out / "latents.pt")
    backends = ["FLASH_ATTENTION", "CUDNN_ATTENTION", "EFFICIENT_ATTENTION", "MATH"]
    rows = torch_timings(args, tr, data["latents"], data["feats"], backends)
    (args.out / "torch.timed").write_text("")
    # Once the exports are done and cuda-bench.ts's kernel check is over (both would disturb it):
    # the headline rows again.
    for _ in range(600):
        if (args.out / "exports.done").exists() and (args.out / "kernels.done").exists():
            break
        time.sleep(1)
    recheck = torch_timings(args, tr, data["latents"], data["feats"], ["CUDNN_ATTENTION"], save_refs=False)
    try:
        prof = torch_profile(args, tr, data["latents"], data["feats"])
    except Exception as err:  # noqa: BLE001 (the timings above are the point; a profile is extra)
        prof = {"error": repr(err)[:800]}
    log("torch profile", {k: v for k, v in prof.items() if k != "top"})
    (args.out / "timing.json").write_text(json.dumps({
        "device": torch.cuda.get_device_name(), "torch": torch.__version__, "torch_rows": rows,
        "recheck_rows": recheck, "profile": prof}, indent=2))


def write_manifests(args, out: Path, small: Path, tr, te, vae) -> None:  # noqa: ANN001
    """zimage.json for both directories, from the files the export tasks will write (`fused`:
    the exporter's rewritten graph); fw2 shares the tokenizer, TE and VAE files of fw<N>
    (link_side)."""
    side = {c: {p: f"{c}/model.{p}.onnx" for p in ["fp32", *args.precisions]} for c in ("text_encoder", "vae_decoder")}
    te_cfg = {"hidden_size": te.config.hidden_size, "layers": te.config.num_hidden_layers, "hidden_state": -2}
    for directory, layers, variants in ((out, args.layers, ["fused"]), (small, 2, ["fused", "unfused"])):
        tfiles: dict = {"fused": {}, "unfused": {}}
        for variant in variants:
            for p in args.precisions:
                tfiles[variant][p] = f"transformer/{variant}.{p}.onnx"
        tcfg = {**ow.transformer_config(tr), "layers": layers, "fused_graph_rewrites": ow.GRAPH_REWRITES}
        ow.write_manifest(directory, f"z-image-full-width-{layers}l", tcfg, te_cfg, vae,
                          {**side, "transformer": tfiles}, max_size=2048)


def link_side(out: Path, small: Path) -> None:
    for sub in ("tokenizer", "text_encoder", "vae_decoder"):
        (small / sub).mkdir(parents=True, exist_ok=True)
        for f in (out / sub).iterdir():
            if not (small / sub / f.name).exists():
                os.link(f, small / sub / f.name)


if __name__ == "__main__":
    main()
