"""Reports on trained models: the evaluation report (swap-only transfer, robustness, calibration, SynOps), the
on-sensor (integer) figures, where a model is right and wrong, and whether the live app keeps quiet without a
gesture."""
