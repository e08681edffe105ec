"""sun2018 Section 3, measured: how much information image labels remove from pixel labelling, in nats.

For one image with n present categories (background included) out of N, and a label vector that
keeps k of the present ones and adds m absent ones, the paper's quantities are

    removable   d_hat = log(N / n)              Eq. 6: what accurate labels remove
    removed     log(N / (m + k))                Eq. 10 with k = n: what these labels remove
    invalid     d_mk  = log((m + k) / k)        Eq. 14: invalid information the labels leave
    lost        d_k   = log(n / k)              Eq. 12: valid information the labels throw away

Worked example: N = 21, present {background, cat, dog} (n = 3), labels {background, cat, car}
(k = 2, m = 1): removable log 7, removed log 7, invalid log 1.5, lost log 1.5.

    >>> import numpy as np
    >>> truth = np.zeros((1, 20), int); truth[0, [7, 11]] = 1      # cat, dog
    >>> labels = np.zeros((1, 20), int); labels[0, [6, 7]] = 1     # car, cat
    >>> {k: round(v, 4) for k, v in label_information(truth, labels).items()}
    {'n': 3.0, 'm': 1.0, 'k': 2.0, 'removable_nats': 1.9459, 'removed_nats': 1.9459, 'invalid_nats': 0.4055, 'lost_nats': 0.4055}
"""

from __future__ import annotations

import numpy as np

N_CATEGORIES = 21  # VOC: 20 objects + background (a dataset of its own passes its count)


def label_information(
    true_tags: np.ndarray, label_tags: np.ndarray, n_categories: int = N_CATEGORIES
) -> dict[str, float]:
    """Means over images of n, m, k and the four quantities above; tags are (images, N - 1) binary.

    Background is present in every image and kept by every label vector, so n, k >= 1.
    """
    truth = np.asarray(true_tags) > 0
    labels = np.asarray(label_tags) > 0
    n = truth.sum(1) + 1.0
    k = (truth & labels).sum(1) + 1.0
    m = (labels & ~truth).sum(1).astype(float)
    return {
        "n": float(n.mean()),
        "m": float(m.mean()),
        "k": float(k.mean()),
        "removable_nats": float(np.log(n_categories / n).mean()),
        "removed_nats": float(np.log(n_categories / (m + k)).mean()),
        "invalid_nats": float(np.log((m + k) / k).mean()),
        "lost_nats": float(np.log(n / k).mean()),
    }
