"""Load-time rewrite of an ONNX graph: look rows up *before* dequantising a table.

The pinned all-MiniLM int8 model stores every weight as int8 and dequantises it in
the graph (``Cast(int8) -> Mul(scale)``). onnxruntime constant-folds those nodes
into fp32 initializers, so the 11.7 MB int8 word-embedding table becomes a 47 MB
fp32 table (plus a second 47 MB temporary while folding), although a forward pass
reads at most 256 of its 30,522 rows. Rewriting

    Gather(Mul(Cast(W_q), s), ids)  ->  Mul(Cast(Gather(W_q, ids)), Gather(s, ids))

for a per-row scale ``s`` of shape ``(rows, 1)`` keeps the table int8 and gives
bit-identical embeddings (same float32 products), for ~50 MB less resident and
~90 MB less peak memory. MatMul weights are left to constant folding (their fp32
form is what the fast kernels need).

Only the graph's nodes are touched: the file is parsed with a minimal subset of
``onnx.proto`` (declared here so the ``onnx`` package is not a dependency);
protobuf keeps every undeclared field (initializer data, opsets, metadata) as
unknown fields and writes them back unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["gather_before_dequantize"]

_ONNX_DOMAINS = ("", "ai.onnx")
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


@lru_cache(maxsize=1)
def _model_class() -> Any:
    """A protobuf class for ``ModelProto`` with just the fields this rewrite reads or writes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    field = descriptor_pb2.FieldDescriptorProto
    repeated, optional = field.LABEL_REPEATED, field.LABEL_OPTIONAL
    package = "routeiq_onnx_subset"
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"{package}.proto", package=package, syntax="proto2"
    )

    def message(name: str, *fields: tuple[str, int, int, int, str | None]) -> None:
        msg = proto.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = f".{package}.{type_name}"

    # Field numbers from onnx/onnx.proto (stable since IR version 3).
    message("Tensor", ("dims", 1, field.TYPE_INT64, repeated, None),
            ("name", 8, field.TYPE_STRING, optional, None),
            ("data_location", 14, field.TYPE_INT32, optional, None))
    message("Attribute", ("name", 1, field.TYPE_STRING, optional, None),
            ("i", 3, field.TYPE_INT64, optional, None))
    message("Node", ("input", 1, field.TYPE_STRING, repeated, None),
            ("output", 2, field.TYPE_STRING, repeated, None),
            ("name", 3, field.TYPE_STRING, optional, None),
            ("op_type", 4, field.TYPE_STRING, optional, None),
            ("attribute", 5, field.TYPE_MESSAGE, repeated, "Attribute"),
            ("domain", 7, field.TYPE_STRING, optional, None))
    message("Graph", ("node", 1, field.TYPE_MESSAGE, repeated, "Node"),
            ("initializer", 5, field.TYPE_MESSAGE, repeated, "Tensor"))
    message("Model", ("graph", 7, field.TYPE_MESSAGE, optional, "Graph"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Model"))


def _is_onnx_op(node: Any, op_type: str) -> bool:
    return bool(node.op_type == op_type and node.domain in _ONNX_DOMAINS)


def gather_before_dequantize(data: bytes) -> bytes | None:
    """The model with its dequantised embedding lookups rewritten, or None when nothing matches.

    Raises whatever protobuf raises for bytes that are not a model; the caller then
    lets onnxruntime load the file and report the error.
    """
    model = _model_class()()
    model.ParseFromString(data)
    del data
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    if any(t.data_location == _EXTERNAL for t in inits.values()):
        return None  # external data is resolved relative to the file: load it by path
    producer = {out: n for n in graph.node for out in n.output}
    uses: dict[str, int] = {}
    for n in graph.node:
        for name in n.input:
            uses[name] = uses.get(name, 0) + 1

    plans: dict[int, tuple[Any, Any, Any, int]] = {}
    for gather in graph.node:
        if (not _is_onnx_op(gather, "Gather") or len(gather.input) != 2
                or any(a.name == "axis" and a.i != 0 for a in gather.attribute)):
            continue
        mul = producer.get(gather.input[0])
        if mul is None or not _is_onnx_op(mul, "Mul") or uses.get(mul.output[0]) != 1:
            continue
        for cast_at, scale_at in ((0, 1), (1, 0)):
            cast, scale = producer.get(mul.input[cast_at]), inits.get(mul.input[scale_at])
            if cast is None or not _is_onnx_op(cast, "Cast"):
                continue
            table = inits.get(cast.input[0])
            if (table is not None and scale is not None and uses.get(cast.output[0]) == 1
                    and len(table.dims) == 2 and list(scale.dims) == [table.dims[0], 1]):
                plans[id(gather)] = (gather, cast, mul, scale_at)
                break
    if not plans:
        return None

    node_class = type(graph.node[0])
    moved = {id(n) for _, cast, mul, _ in plans.values() for n in (cast, mul)}
    nodes = []
    for n in graph.node:
        if id(n) in moved:
            continue
        if id(n) not in plans:
            nodes.append(node_class.FromString(n.SerializeToString()))
            continue
        gather, cast, mul, scale_at = plans[id(n)]
        out, ids = gather.output[0], gather.input[1]
        rows, row_scales = f"{out}__rows_q", f"{out}__row_scales"
        if {rows, row_scales} & (producer.keys() | inits.keys()):
            return None
        nodes.append(node_class(op_type="Gather", name=rows, input=[cast.input[0], ids],
                                output=[rows]))
        nodes.append(node_class(op_type="Gather", name=row_scales, input=[mul.input[scale_at], ids],
                                output=[row_scales]))
        cast = node_class.FromString(cast.SerializeToString())
        cast.input[0] = rows
        mul = node_class.FromString(mul.SerializeToString())
        mul.input[scale_at] = row_scales
        mul.output[0] = out
        nodes.extend((cast, mul))
    del graph.node[:]
    graph.node.extend(nodes)
    return model.SerializeToString()  # type: ignore[no-any-return]
