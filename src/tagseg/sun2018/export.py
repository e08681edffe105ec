"""Predict the VOC2012 test images with a sun2018 FCN and write the evaluation server's submission.

The model is Figure 3's "ours" at the voc scale (FCN-8s+generator); with ``--classifier`` and
``--tau`` the classifier's labels are fused at test, as in Table 4 (tagseg.data.voc_test has the
layout).

    python -m tagseg.sun2018.export --test-tar VOC2012test.tar --model results/models/fcn8s/gen/seed0/model.pt \\
        --classifier results/classifier/seed0/model.pt --tau 0.25 --out results/submissions/sun2018.tar.gz
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

from tagseg.core import runtime
from tagseg.core.cli import command
from tagseg.core.metrics import class_argmax
from tagseg.core.precision import resolve
from tagseg.data.voc_test import SUBMISSION_DIR, Predictor, add_export_arguments, export
from tagseg.sun2018.classifier import load_classifier
from tagseg.sun2018.fusion import FUSIONS, threshold_labels
from tagseg.sun2018.network import fcn_family, load_fcn


def fcn_predictor(model_path: str | os.PathLike, device: torch.device, classifier_path: str | os.PathLike | None = None,
                  tau: float | None = None, precision: str = "auto") -> Predictor:  # fmt: skip
    """An FCN's argmax, with the classifier's labels at ``tau`` fused as in Table 4 when ``classifier_path`` is given."""
    if (classifier_path is None) != (tau is None):
        raise ValueError("export: --classifier and --tau go together")
    model, _ = load_fcn(model_path, device)
    classifier = None
    if classifier_path is not None:
        classifier, _ = load_classifier(classifier_path, device)
    elif model.variant.fusion is not None:
        raise ValueError(f"{model_path}: variant {model.variant_name!r} fuses labels; give --classifier and --tau")
    arithmetic = resolve(precision, device, fcn_family(model.variant_name))
    labelling = resolve(precision, device, "classifier")

    @torch.inference_mode()
    def predict(image: torch.Tensor) -> np.ndarray:
        with arithmetic.autocast():
            scores = model.fcn(image).float()  # (1, 21, H, W)
        if classifier is not None:  # as tagseg.sun2018.evaluate_fcn --probabilities: the variant's fusion, else dot
            with labelling.autocast():
                probabilities = torch.sigmoid(classifier(image).float())
            labels = threshold_labels(probabilities, tau)  # (1, 21)
            scores = FUSIONS[model.variant.fusion or "dot"](scores, labels)
        return class_argmax(scores)[0].to(torch.uint8).cpu().numpy()

    return predict


@command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagseg.sun2018.export", description=__doc__.split("\n\n")[0])
    add_export_arguments(parser)
    parser.add_argument("--classifier", help="model.pt of tagseg.sun2018.train_classifier: fuse its labels at --tau")
    parser.add_argument("--tau", type=float, help="threshold on the classifier's probabilities")
    args = parser.parse_args(argv)
    device = runtime.setup(0, args.threads, args.device)
    count = export(
        args.test_tar, fcn_predictor(args.model, device, args.classifier, args.tau, args.precision), args.out, device
    )
    print(f"wrote {count} test predictions to {args.out} ({SUBMISSION_DIR}/*.png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
