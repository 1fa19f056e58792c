"""The synthetic camera: a DVS pixel model (:mod:`.dvs_sim`) in front of rendered scenes — an articulated person
performing the DVS128 Gesture classes (:mod:`.gestures`), MNIST digits making N-MNIST's saccades (:mod:`.nmnist`).

It is a source like any camera (``synthetic:gestures``, :mod:`sast_live.sources.synthetic`) and it is what the
synthetic training datasets are made with (``training/data``).
"""
