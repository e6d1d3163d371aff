"""Shared test helpers."""

from pathlib import Path

DATA = Path(__file__).parent / "data"
# Exports in tests/data/onnx that convcalc cannot read yet, and why: the tests that read every
# export expect these to fail (strictly: one that starts to read must leave this list).
ONNX_NOT_READ = {
    "efficientformer_l1": "ReduceMean of tokens (dynamo); attention biases gathered by stripped "
                          "indices (TorchScript)",
    # Split attention stacks its branches in a 5-D tensor ([1, radix, c, h, w]).
    "resnest14d": "split attention's 5-D tensors",
    "skresnet18": "split attention's 5-D tensors",
}

# Small networks that together use every layer kind on every rank it reads: the files that
# test_torch_writer.py exports, test_onnx_writer.py writes and test_verify.py verifies.
KIND_FILES = ["export_kinds.yaml", "graph_every_kind.yaml", "tensors_vit.yaml",
              "tensors_swin.yaml", "tensors_ops.yaml", "tensors_ranks.yaml", "tensors_moves.yaml"]


def torch_macs(model, x):  # type: ignore[no-untyped-def]
    """torch's MACs for ``model(x)``: FlopCounterMode // 2, with the attention fast path off
    and CPU's fused attention counted by torch's own ``sdpa_flop_count`` (FlopCounterMode has
    no formula for it and would count 0). The rule for every number stored from torch."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_sdpa(query, key, value, *args, **kwargs):  # type: ignore[no-untyped-def]
        return sdpa_flop_count(query, key, value)

    torch.backends.mha.set_fastpath_enabled(False)
    fused = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    counter = FlopCounterMode(display=False, custom_mapping={fused: cpu_sdpa})
    with counter, torch.no_grad():
        out = model(x)
    return counter.get_total_flops() // 2, out
