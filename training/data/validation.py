"""The validation split: part of the *training* data set aside for what must not be chosen on test data
(the temperature of the confidences, the no-gesture threshold).

Where a dataset records who performed each sample (gestures-v2), whole subjects are held out — the validation
people are new to the network, as the test people are — otherwise every k-th sample of each class.
"""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError


def split_validation(ds, fraction: float):
    """``(train, validation, description)`` of EventDataset ``ds``; ``fraction`` of its subjects (or samples)."""
    if not 0 < fraction < 1:
        raise SastLiveError(f"the validation fraction must be in (0, 1), got {fraction}")
    n = len(ds)
    if ds.recordings is not None:
        subjects = sorted({sid for sid, _ in ds.recordings})
        k = max(1, round(fraction * len(subjects)))
        if k >= len(subjects):
            raise SastLiveError(f"{ds.name}: {len(subjects)} training subjects leave none to train on after "
                                f"holding out {k} for validation")
        held = set(subjects[-k:])  # the last ids: a fixed, documented choice, not a search
        is_val = np.array([sid in held for sid, _ in ds.recordings])
        what = f"subjects {sorted(held)} of the training split ({int(is_val.sum())} samples)"
    else:
        step = max(2, round(1 / fraction))
        is_val = np.zeros(n, bool)
        labels = np.asarray(ds.labels)
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            is_val[members[step - 1::step]] = True
        what = f"every {step}th training sample of each class ({int(is_val.sum())} samples)"
    if is_val.all() or not is_val.any():
        raise SastLiveError(f"{ds.name}: {n} training samples are too few for a validation split")
    return ds.subset(np.flatnonzero(~is_val)), ds.subset(np.flatnonzero(is_val)), what
