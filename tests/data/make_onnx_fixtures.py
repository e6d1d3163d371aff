"""Exports torchvision, timm, ultralytics and segmentation_models_pytorch models to ONNX with
both exporters, strips their weights, and stores the graphs with torch's own numbers beside
them; run it from the repository root with torchvision, timm, ultralytics,
segmentation_models_pytorch, onnx and onnxscript installed:

    python tests/data/make_onnx_fixtures.py [MODEL ...]

For every model it writes tests/data/onnx/MODEL.torchscript.onnx (``torch.onnx.export`` with
``dynamo=False``, opset 17, eval mode, so batch norm after a convolution is folded into its
bias) and tests/data/onnx/MODEL.dynamo.onnx (``dynamo=True``). Each is saved with its tensors
above 1 KiB as external data, and the data file is then deleted: what is kept is the graph, the
small constants and the dims of every initializer, which is all convcalc may read (a model
whose weight file is missing must still analyze).

tests/data/onnx/counts.json holds, per model: ``params`` (``sum(p.numel())``), ``macs``
(``torch.utils.flop_counter.FlopCounterMode`` total // 2, batch 1, with the attention fast path
off and CPU's fused attention counted by torch's ``sdpa_flop_count``: conftest.torch_macs, the
rule every stored torch number follows), ``output`` (the output shape,
batch dropped), for some models ``resized``: the same at another input size, and, per
exporter, ``folded_bn_channels``: the channels of batch norms the
exporter folded into a convolution. Such a batch norm's 2c parameters become the convolution's
c bias values (merge into the c it has, for a convolution with a bias: counted twice), so the
exported model has ``params - folded_bn_channels`` parameters.
"""

import itertools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent))
from conftest import torch_macs

HERE = Path(__file__).parent / "onnx"

# name -> (torchvision builder, keyword arguments, input height and width)
MODELS: dict[str, tuple[str, dict[str, Any], int]] = {
    "alexnet": ("alexnet", {}, 224),
    "resnet18": ("resnet18", {}, 224),
    "resnet50": ("resnet50", {}, 224),
    "googlenet": ("googlenet", {"aux_logits": False, "init_weights": False}, 224),
    "squeezenet1_0": ("squeezenet1_0", {}, 224),
    "densenet121": ("densenet121", {}, 224),
    "mobilenet_v2": ("mobilenet_v2", {}, 224),
    "mobilenet_v3_small": ("mobilenet_v3_small", {}, 224),
    "mobilenet_v3_large": ("mobilenet_v3_large", {}, 224),
    "efficientnet_b0": ("efficientnet_b0", {}, 224),
    "regnet_y_400mf": ("regnet_y_400mf", {}, 224),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0", {}, 224),
    "convnext_tiny": ("convnext_tiny", {}, 224),
    "inception_v3": ("inception_v3", {"aux_logits": False, "init_weights": False}, 299),
    "mnasnet1_0": ("mnasnet1_0", {}, 224),
    "resnext50_32x4d": ("resnext50_32x4d", {}, 224),
    "efficientnet_v2_s": ("efficientnet_v2_s", {}, 384),
    "fcn_resnet50": ("segmentation.fcn_resnet50", {"weights_backbone": None}, 224),
    "deeplabv3_resnet50": ("segmentation.deeplabv3_resnet50", {"weights_backbone": None},
                           224),
    "lraspp_mobilenet_v3_large": ("segmentation.lraspp_mobilenet_v3_large",
                                  {"weights_backbone": None}, 224),
    "deeplabv3_mobilenet_v3_large": ("segmentation.deeplabv3_mobilenet_v3_large",
                                     {"weights_backbone": None}, 224),
    # timm: TensorFlow-'same' padding computed in the graph (Clip, Max, Pad), and weight
    # standardisation (ScaledStdConv2d: a BatchNormalization of each weight, TorchScript).
    "tf_efficientnet_b0": ("timm:tf_efficientnet_b0", {}, 224),
    "nf_resnet26": ("timm:nf_resnet26", {}, 224),
    # segmentation_models_pytorch's U-Net on a ResNet-18 encoder, two classes.
    "smp_unet_resnet18": ("smp:Unet", {"encoder_name": "resnet18", "encoder_weights": None,
                                       "classes": 2}, 256),
    # Transformers and hybrids: tokens, attention (MatMul, Softmax), LayerNormalization.
    "vit_tiny_patch16_224": ("timm:vit_tiny_patch16_224", {}, 224),
    "deit_tiny_distilled_patch16_224": ("timm:deit_tiny_distilled_patch16_224", {}, 224),
    "mobilevit_xxs": ("timm:mobilevit_xxs", {}, 256),
    "mobilenetv4_hybrid_medium": ("timm:mobilenetv4_hybrid_medium", {}, 256),
    "efficientformer_l1": ("timm:efficientformer_l1", {}, 224),
    "fastvit_t8": ("timm:fastvit_t8", {}, 256),
    # ultralytics' detectors from their YAML (untrained): the detection head flattens each
    # scale to [channels, positions], DFL (a softmax over 16 bins, a fixed 1x1 convolution)
    # and anchors computed in the graph.
    "yolov8n": ("ultralytics:yolov8n.yaml", {}, 640),
    "yolo11n": ("ultralytics:yolo11n.yaml", {}, 640),
    # Element-wise, normalisation and reduction ops on network tensors: ConvNeXt-V2's GRN
    # (ReduceL2, Div, ReduceMean over channels), split attention (ReduceSum over the radix:
    # ResNeSt, SKNet), PoolFormer's x - pool(x) and GroupNorm, smp FPN's GroupNorm and
    # DeepLabV3+'s separable ASPP.
    "convnextv2_atto": ("timm:convnextv2_atto", {}, 224),
    "resnest14d": ("timm:resnest14d", {}, 224),
    "skresnet18": ("timm:skresnet18", {}, 224),
    "poolformer_s12": ("timm:poolformer_s12", {}, 224),
    "smp_fpn_resnet18": ("smp:FPN", {"encoder_name": "resnet18", "encoder_weights": None,
                                     "classes": 2}, 256),
    "smp_deeplabv3plus_resnet18": ("smp:DeepLabV3Plus", {"encoder_name": "resnet18",
                                                         "encoder_weights": None,
                                                         "classes": 2}, 256),
}
EXPORTERS = ("torchscript", "dynamo")
# Exports left out, and why: convcalc cannot give torch's count from them.
LEFT_OUT = {("nf_resnet26", "dynamo"): "the exporter folds one ScaledStdConv2d's gain into its "
            "weight, so the file holds 64 parameters fewer than torch counts"}
# Models also counted at another input size: the graph exported at 224 read with --input.
RESIZED = {"lraspp_mobilenet_v3_large": (320, 256), "deeplabv3_mobilenet_v3_large": (320, 256)}


def build(builder: str, kwargs: dict[str, Any]) -> Any:
    """The model in eval mode: torchvision's (torchvision's segmentation models return only
    their 'out'), timm's ('timm:NAME'), ultralytics' ('ultralytics:YAML', its detection head
    in export mode: the decoded boxes and scores only) or segmentation_models_pytorch's
    ('smp:ARCH')."""
    import torch
    import torchvision

    if builder.startswith("ultralytics:"):
        from ultralytics.nn.tasks import DetectionModel

        model = DetectionModel(builder[12:], verbose=False).eval()
        model.model[-1].export = True
    elif builder.startswith("timm:"):
        import timm

        model = timm.create_model(builder[5:], pretrained=False, **kwargs).eval()
    elif builder.startswith("smp:"):
        import segmentation_models_pytorch as smp

        model = getattr(smp, builder[4:])(**kwargs).eval()
    else:
        target: Any = torchvision.models
        for part in builder.split("."):
            target = getattr(target, part)
        model = target(weights=None, **kwargs).eval()
    # Untrained weights repeat (every batch norm starts at ones and zeros), and the exporter
    # shares equal initializers: distinct values keep one initializer per torch parameter.
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
    if builder.startswith("segmentation."):
        class Out(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x: Any) -> Any:
                return self.inner(x)["out"]

        model = Out(model).eval()
    return model


def torch_numbers(model: Any, size: int | tuple[int, int]) -> dict[str, Any]:
    """params, macs and output shape of the model on one 3 x h x w image (size: h = w, or
    (h, w))."""
    import torch

    h, w = (size, size) if isinstance(size, int) else size
    macs, out = torch_macs(model, torch.zeros(1, 3, h, w))
    return {"params": sum(p.numel() for p in model.parameters()), "macs": macs,
            "output": list(out.shape[1:])}


def export(model: Any, size: int, exporter: str, target: Path) -> Any:
    """The exported ModelProto, with weights, also written to ``target``."""
    import onnx
    import torch

    x = torch.zeros(1, 3, size, size)
    with torch.no_grad():
        if exporter == "torchscript":
            torch.onnx.export(model, (x,), str(target), dynamo=False, opset_version=17,
                              input_names=["input"], output_names=["output"])
        else:
            program = torch.onnx.export(model, (x,), dynamo=True, input_names=["input"],
                                        output_names=["output"])
            program.save(str(target))
    return onnx.load(str(target))


def batchnorm_channels(model: Any) -> int:
    """Channels of every BatchNorm2d in the torch model."""
    import torch

    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def biased_batchnorm_channels(model: Any) -> int:
    """Channels of the BatchNorm2d right after a Conv2d with a bias of its own (ResNeSt's
    split-attention fc1): folding merges the batch norm's 2c parameters into the c bias values
    the convolution has already, so the export holds 2c fewer, not c."""
    import torch

    leaves = [m for m in model.modules() if not list(m.children())]
    return sum(b.num_features for a, b in itertools.pairwise(leaves)
               if isinstance(b, torch.nn.BatchNorm2d) and isinstance(a, torch.nn.Conv2d)
               and a.bias is not None)


def onnx_batchnorm_channels(proto: Any) -> int:
    """Channels of the BatchNormalization nodes left in the ONNX graph (from their scale), but
    for those in training mode: weight standardisation, which normalises a weight."""
    dims = {t.name: list(t.dims) for t in proto.graph.initializer}
    dims |= {n.output[0]: list(a.t.dims) for n in proto.graph.node if n.op_type == "Constant"
             for a in n.attribute if a.name == "value"}
    return sum(dims[n.input[1]][0] for n in proto.graph.node if n.op_type == "BatchNormalization"
               and not any(a.name == "training_mode" and a.i for a in n.attribute))


def strip(proto: Any, target: Path) -> None:
    """Save ``proto`` to ``target`` with its tensors above 1 KiB as external data, then delete
    the data file: the graph keeps every initializer's dims and dtype, not its values. The
    nodes' metadata and doc strings (source locations) are dropped too, but for the module
    scopes and classes the dynamo exporter records (convcalc's layer paths come from them)."""
    import onnx

    data = target.with_suffix(".data")
    kept = ("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy")
    for node in proto.graph.node:  # the dynamo exporter's stack traces: most of the bytes
        props = [(p.key, p.value) for p in node.metadata_props if p.key in kept]
        del node.metadata_props[:]
        for key, value in props:
            node.metadata_props.add(key=key, value=value)
        node.doc_string = ""
    onnx.save_model(proto, str(target), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data.name, size_threshold=1024)
    data.unlink()


def main(names: list[str]) -> None:
    """Export, strip and count every model named (all of them when none is)."""
    HERE.mkdir(exist_ok=True)
    counts_file = HERE / "counts.json"
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {"models": {}}
    counts["about"] = (
        "torchvision 0.29.1, timm 1.0.31, ultralytics 8.4.190 and segmentation_models_pytorch "
        "models, untrained, eval "
        "mode, batch 1, input 3 x size x size. "
        "params = sum(p.numel()); macs = FlopCounterMode total // 2; output = output shape "
        "without the batch. folded_bn_channels: channels of batch norms an exporter folded "
        "into a convolution's bias (twice where the convolution had a bias), so the ONNX model "
        "has params - folded_bn_channels parameters. Written by make_onnx_fixtures.py.")
    for name in names or list(MODELS):
        builder, kwargs, size = MODELS[name]
        model = build(builder, kwargs)
        entry = {"input": [3, size, size], **torch_numbers(model, size), "exporters": {}}
        if name in RESIZED:
            entry["resized"] = {"input": [3, *RESIZED[name]],
                                **torch_numbers(model, RESIZED[name])}
        total_bn, biased_bn = batchnorm_channels(model), biased_batchnorm_channels(model)
        for exporter in (e for e in EXPORTERS if (name, e) not in LEFT_OUT):
            with tempfile.TemporaryDirectory() as tmp:
                proto = export(model, size, exporter, Path(tmp) / "full.onnx")
            target = HERE / f"{name}.{exporter}.onnx"
            strip(proto, target)
            ops = sorted({n.op_type for n in proto.graph.node})
            entry["exporters"][exporter] = {
                "folded_bn_channels": total_bn - onnx_batchnorm_channels(proto) + biased_bn,
                "ops": ops,
            }
            print(f"{name} {exporter}: {os.path.getsize(target):,} bytes, {ops}", flush=True)
        counts["models"][name] = entry
        counts_file.write_text(json.dumps(counts, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
