"""The exporter's torch custom ops and their ONNX translations. Nothing here imports another
exporter module, so this loads once and each op is defined once (a module loaded twice, as
export_zimage.py was when run as a script, defines every op a second time)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


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


def onnx_translations(fused: bool) -> dict:
    """torch.onnx.export's custom_translation_table: the reshapes always, the attention op for the
    fused variant."""
    table = {
        torch.ops.zimage.reshape.default: _reshape_static_onnx,
        torch.ops.zimage.reshape_as.default: _reshape_as_onnx,
    }
    if fused:
        table[torch.ops.zimage.mha.default] = _mha_to_onnx
    return table
