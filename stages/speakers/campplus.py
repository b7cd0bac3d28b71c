"""CAM++ (3D-Speaker, zh/en, 192-dim) as an ONNX graph built from its weights, without torch.

The network is the published one (a 2-D ResNet front end, densely connected TDNN
blocks with context-aware masking, statistics pooling, one dense layer); every
batch norm that follows a convolution is folded into it. Context-aware masking
pools over 100-frame segments; the embedder never feeds more than 200 frames
(one segment after the stride-2 TDNN), so that pooling is the plain mean here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_FRAMES = 200  # 2 s of 10 ms frames: one masking segment after the stride-2 TDNN
EPS = 1e-5
BLOCKS = ((12, 1), (24, 2), (16, 2))  # (layers, dilation) of the three dense blocks


class _Graph:
    """Collects nodes and weights; names are made unique by a counter."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state
        self.nodes: list[object] = []
        self.inits: list[object] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], hint: str = "", **attrs: Any) -> str:
        from onnx import helper

        out = self.name(hint or kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def bn(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Batch norm `prefix` as a per-channel scale and shift."""
        s = self.state
        gamma = s.get(f"{prefix}.weight", np.ones_like(s[f"{prefix}.running_mean"]))
        beta = s.get(f"{prefix}.bias", np.zeros_like(s[f"{prefix}.running_mean"]))
        scale = gamma / np.sqrt(s[f"{prefix}.running_var"] + EPS)
        return scale.astype(np.float32), (beta - s[f"{prefix}.running_mean"] * scale).astype(np.float32)

    def conv_bn(self, x: str, conv: str, bn: str, relu: bool = True, **attrs: Any) -> str:
        """Convolution `conv` (no bias) followed by batch norm `bn`, folded into one Conv."""
        w = self.state[f"{conv}.weight"]
        scale, shift = self.bn(bn)
        folded = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        y = self.op("Conv", [x, self.const(folded.astype(np.float32)), self.const(shift)], **attrs)
        return self.op("Relu", [y]) if relu else y

    def conv(self, x: str, prefix: str, **attrs: Any) -> str:
        inputs = [x, self.const(self.state[f"{prefix}.weight"])]
        if f"{prefix}.bias" in self.state:
            inputs.append(self.const(self.state[f"{prefix}.bias"]))
        return self.op("Conv", inputs, **attrs)

    def bn_relu(self, x: str, bn: str) -> str:
        scale, shift = self.bn(bn)
        y = self.op("Mul", [x, self.const(scale.reshape(1, -1, 1))])
        return self.op("Relu", [self.op("Add", [y, self.const(shift.reshape(1, -1, 1))])])


def _res_block(g: _Graph, x: str, prefix: str, stride: int) -> str:
    pad: dict[str, Any] = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    out = g.conv_bn(x, f"{prefix}.conv1", f"{prefix}.bn1", strides=[stride, 1], **pad)
    out = g.conv_bn(out, f"{prefix}.conv2", f"{prefix}.bn2", relu=False, strides=[1, 1], **pad)
    short = x
    if f"{prefix}.shortcut.0.weight" in g.state:
        short = g.conv_bn(x, f"{prefix}.shortcut.0", f"{prefix}.shortcut.1", relu=False, strides=[stride, 1],
                          kernel_shape=[1, 1])
    return g.op("Relu", [g.op("Add", [out, short])])


def build(state: dict[str, np.ndarray]) -> bytes:
    """The serialized ONNX model: input `feats` (batch, frames <= 200, 80) -> output `embedding` (batch, 192)."""
    from onnx import TensorProto, helper

    g = _Graph(state)
    x = g.op("Transpose", ["feats"], perm=[0, 2, 1])  # (B, 80, T)
    x = g.op("Unsqueeze", [x, g.const(np.array([1], dtype=np.int64))])  # (B, 1, 80, T)
    x = g.conv_bn(x, "head.conv1", "head.bn1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    for layer in ("layer1", "layer2"):
        x = _res_block(g, x, f"head.{layer}.0", 2)
        x = _res_block(g, x, f"head.{layer}.1", 1)
    x = g.conv_bn(x, "head.conv2", "head.bn2", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 1])
    shape = g.op("Shape", [x])
    frames_dim = g.op("Slice", [shape, g.const(np.array([3], dtype=np.int64)), g.const(np.array([4], dtype=np.int64))])
    target = g.op("Concat", [g.const(np.array([0, -1], dtype=np.int64)), frames_dim], axis=0)
    x = g.op("Reshape", [x, target])  # (B, 32 * 10, T): channels major, frequency minor
    x = g.conv_bn(x, "xvector.tdnn.linear", "xvector.tdnn.nonlinear.batchnorm", kernel_shape=[5], pads=[2, 2],
                  strides=[2])
    for b, (layers, dilation) in enumerate(BLOCKS, 1):
        for n in range(1, layers + 1):
            p = f"xvector.block{b}.tdnnd{n}"
            h = g.bn_relu(x, f"{p}.nonlinear1.batchnorm")
            h = g.conv_bn(h, f"{p}.linear1", f"{p}.nonlinear2.batchnorm", kernel_shape=[1])
            local = g.conv(h, f"{p}.cam_layer.linear_local", kernel_shape=[3], pads=[dilation, dilation],
                           dilations=[dilation])
            mean = g.op("ReduceMean", [h, g.const(np.array([2], dtype=np.int64))], keepdims=1)
            context = g.op("Add", [mean, mean])  # global mean + the (single) segment's mean
            m = g.op("Relu", [g.conv(context, f"{p}.cam_layer.linear1", kernel_shape=[1])])
            m = g.op("Sigmoid", [g.conv(m, f"{p}.cam_layer.linear2", kernel_shape=[1])])
            x = g.op("Concat", [x, g.op("Mul", [local, m])], axis=1)
        x = g.bn_relu(x, f"xvector.transit{b}.nonlinear.batchnorm")
        x = g.conv(x, f"xvector.transit{b}.linear", kernel_shape=[1])
    x = g.bn_relu(x, "xvector.out_nonlinear.batchnorm")
    axis = g.const(np.array([2], dtype=np.int64))
    mean = g.op("ReduceMean", [x, axis], keepdims=1)
    dev = g.op("Sub", [x, mean])
    frames = g.op("Cast", [g.op("Gather", [g.op("Shape", [x]), g.const(np.array(2, dtype=np.int64))])],
                  to=TensorProto.FLOAT)
    denom = g.op("Max", [g.op("Sub", [frames, g.const(np.array(1.0, dtype=np.float32))]),
                         g.const(np.array(1.0, dtype=np.float32))])
    var = g.op("Div", [g.op("ReduceSum", [g.op("Mul", [dev, dev]), axis], keepdims=0), denom])
    stats = g.op("Concat", [g.op("Squeeze", [mean, axis]), g.op("Sqrt", [var])], axis=1)  # (B, 1024)
    w = state["xvector.dense.linear.weight"][:, :, 0]  # (192, 1024)
    scale, shift = g.bn("xvector.dense.nonlinear.batchnorm")
    emb = g.op("Gemm", [stats, g.const((w * scale[:, None]).T.astype(np.float32)), g.const(shift)])
    g.nodes.append(helper.make_node("Identity", [emb], ["embedding"]))
    graph = helper.make_graph(
        g.nodes, "campplus",  # type: ignore[arg-type]
        [helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["batch", "frames", 80])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 192])],
        initializer=g.inits)  # type: ignore[arg-type]
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="meeting-assistant")
    model.ir_version = 8
    return bytes(model.SerializeToString())
