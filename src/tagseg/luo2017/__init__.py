"""luo2017, *Deep Dual Learning for Semantic Image Segmentation* (DIS, ICCV 2017).

The dual network and its losses in :mod:`.network`; the iterative inference of u1 and v1 in
:mod:`.inference` (the paper's loop) and :mod:`.inference_reduced` (the same iterates through
u3 and v3); the two training stages in :mod:`.stages`; the commands :mod:`.train_dis`,
:mod:`.evaluate_dis`, :mod:`.export`.
"""

# How the inference steps on u1 and v1 are taken (config dis.inference): the paper's loop, or the
# same iterates through u3 and v3. Here, without torch, for the commands' flags.
INFERENCE_ROUTES = ("literal", "reduced")
