"""The arithmetic a model runs in (config ``resources.precision``): fp32, or bfloat16 / float16 autocast.

    auto   CUDA: float16 autocast with a grad scaler (AMP). A CPU that multiplies bfloat16 natively
           (AVX512-BF16 or AMX): bfloat16 autocast for the model families whose quality in bfloat16
           was shown equal to fp32's (:data:`BF16_FAMILIES`, REPRODUCTION.md); fp32 for the others
           and on every other CPU.
    fp32   fp32 everywhere.
    bf16   bfloat16 autocast on any device (emulated, and slow, on a CPU without native bf16; CUDA
           needs no grad scaler for it).

Autocast runs the convolutions and matrix products in the low precision; the losses, metrics and
optimizer states stay fp32 (the code casts a network's outputs to float before a loss or a score,
and the weights and their gradients are fp32 tensors throughout).

    >>> resolve("auto", torch.device("cpu"), "fcn", capabilities={"avx512_bf16": False}).name
    'fp32'
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Mapping

import torch

from tagseg.core.cli import PRECISIONS  # noqa: F401 - defined without torch, for the commands' flags

# The families of models, each with its training and its evaluation (inference steps included):
FAMILIES = (
    "fcn",  # sun2018's one-step variants (base, label, label_add): FCN-32s and FCN-8s
    "fcn_3step",  # its three-step variants, with a generator or a discriminator
    "classifier",  # sun2018's image-labelling network
    "dis_stage1",  # luo2017's DIS, stage 1 (and its inference at test)
    "dis_stage2",  # DIS stage 2, with t_tr inference steps in training (and its inference at test)
)
# The families ``auto`` runs in bfloat16 on a CPU with native bf16: those whose bf16 runs met the
# rule of bench/precision_quality.py at the default scale (the table: REPRODUCTION.md, P1). The
# three-step FCN variants did not (their primary row lost 1.3 points of mIoU) and keep fp32.
BF16_FAMILIES: frozenset[str] = frozenset({"fcn", "classifier", "dis_stage1", "dis_stage2"})


def native_bf16(capabilities: Mapping[str, object] | None = None) -> bool:
    """True on a CPU with native bfloat16 dot products (x86 AVX512-BF16 or AMX-BF16), as torch reads the CPU."""
    if capabilities is None:
        read = getattr(torch.cpu, "get_capabilities", None)
        if read is None:  # an older torch: its one probe, when it has it
            probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
            return bool(probe and probe())
        capabilities = read()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


@dataclass(frozen=True)
class Precision:
    """An autocast setting for one device: ``dtype`` None is fp32."""

    device_type: str
    dtype: torch.dtype | None

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context a forward pass (and its loss) runs in."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    @property
    def scales_gradients(self) -> bool:
        """float16 needs its gradients scaled against underflow; bfloat16 (fp32's range) and fp32 do not."""
        return self.dtype == torch.float16

    def grad_scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device_type, enabled=self.scales_gradients)


FP32 = Precision("cpu", None)  # plain fp32: the default of the functions that take a precision


def resolve(requested: str, device: torch.device, family: str,
            capabilities: Mapping[str, object] | None = None) -> Precision:  # fmt: skip
    """The precision ``family`` runs in on ``device`` under ``resources.precision: requested``."""
    if requested not in PRECISIONS:
        raise ValueError(f"resources.precision: expected one of {', '.join(PRECISIONS)}, got {requested!r}")
    if family not in FAMILIES:
        raise ValueError(f"precision: unknown model family {family!r}; expected one of {', '.join(FAMILIES)}")
    if requested == "fp32":
        return Precision(device.type, None)
    if requested == "bf16":
        return Precision(device.type, torch.bfloat16)
    if device.type == "cuda":
        return Precision("cuda", torch.float16)
    if device.type == "cpu" and family in BF16_FAMILIES and native_bf16(capabilities):
        return Precision("cpu", torch.bfloat16)
    return Precision(device.type, None)
