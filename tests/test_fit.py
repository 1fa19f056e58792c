"""A camera larger than the model's sensor (--fit pool|crop): the mapping, and the live pipeline running a real
1280×720 Prophesee recording through a 128×128 gesture model instead of refusing it."""

from __future__ import annotations

import pytest

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, make_events
from sast_live.transforms.fit import fit_events

BIG, MODEL = SensorSize(640, 480), SensorSize(128, 128)


def corners():
    return make_events([0, 1, 2, 3, 4], [0, 639, 0, 639, 320], [0, 0, 479, 479, 240], [1, 0, 1, 0, 1])


def test_pool_keeps_every_event_centred_and_crop_keeps_the_middle_at_full_resolution():
    pooled = fit_events(corners(), BIG, MODEL, "pool")  # k = 5: 128 × 96, centred vertically (16 rows above)
    assert pooled["x"].tolist() == [0, 127, 0, 127, 64] and pooled["y"].tolist() == [16, 16, 111, 111, 64]
    assert pooled["t"].tolist() == [0, 1, 2, 3, 4] and pooled["p"].tolist() == [1, 0, 1, 0, 1]
    cropped = fit_events(corners(), BIG, MODEL, "crop")
    assert cropped["x"].tolist() == [64] and cropped["y"].tolist() == [64] and cropped["t"].tolist() == [4]
    small = fit_events(make_events([0], [5], [6], [1]), SensorSize(34, 34), MODEL, "pool")
    assert (int(small["x"][0]), int(small["y"][0])) == (5 + 47, 6 + 47)  # a smaller sensor is centred as it is
    with pytest.raises(SastLiveError, match="--fit must be one of pool, crop"):
        fit_events(corners(), BIG, MODEL, "stretch")


def test_the_pipeline_runs_a_big_camera_through_the_gesture_model_with_fit(real_dir):
    from firmware_sim.precisions import PRECISIONS
    from sast_live.formats.registry import open_events
    from sast_live.pipeline import Pipeline, load_backend
    from sast_live.pipeline.options import PipelineOptions

    reader = open_events(real_dir / "expelliarmus" / "evt3_test_pedestrians.raw")
    events = reader.read()
    backend = load_backend(None, PRECISIONS["int8"])
    with pytest.raises(SastLiveError, match="or --fit pool|crop"):
        Pipeline(backend, reader.sensor_size, PipelineOptions())
    for how in ("pool", "crop"):
        pipe = Pipeline(backend, reader.sensor_size, PipelineOptions(fit=how, hop_ms=0))
        wins = pipe.process(events) + pipe.finish()
        assert wins and pipe.sensor_size == MODEL and pipe.source_size == reader.sensor_size
        expected = len(fit_events(events, reader.sensor_size, MODEL, how))
        assert pipe.telemetry.events_in == expected  # the network saw exactly the mapped events
    with pytest.raises(SastLiveError, match="--fit must be one of"):
        PipelineOptions(fit="stretch")
