"""Untrusted model files: a table of crafted checkpoints and firmware folders, each refused with one line
``error: <file>: <field>: …`` and exit code 2 by every command that loads models, before anything is built —
under a 4 GB address-space limit (``ulimit -v 4000000``), so a config that asks for a 72 GB network fails in
the checks, not in an allocation."""

from __future__ import annotations

import json
import pickle
import resource
import shutil
import struct
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

from models.checkpoint.schema import CONV_FIELDS, PARALLEL_FIELDS
from tests.conftest import REPO

ZOO = REPO / "models" / "zoo" / "gestures-sast"
DEMO = REPO / "sast_live" / "assets" / "demo_gestures.raw"

DRIVER = """
import contextlib, io, json, sys
sys.argv = ["main.py"]
import main
out = {}
for name, argv in json.loads(sys.stdin.read()):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            rc = main.main(argv)
        except BaseException as exc:  # a crash the command let through
            rc = f"{type(exc).__name__}: {exc}"
    out[name] = [rc, err.getvalue()]
print(json.dumps(out))
"""


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (4_000_000 * 1024, 4_000_000 * 1024))


def run_commands(jobs: list[tuple[str, list[str]]]) -> dict:
    """Run ``main.main(argv)`` for each job in one process under the memory limit; ``{name: [rc, stderr]}``."""
    done = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(jobs), capture_output=True, text=True,
                          cwd=REPO, timeout=600, preexec_fn=limit_memory)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_safetensors(path, tensors: dict, dtype_override: dict | None = None) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path))


def checkpoint(tmp, name: str, edit_cfg=None, edit_tensors=None, raw: bytes | None = None, edit_meta=None):
    from safetensors.numpy import load_file

    folder = tmp / name
    folder.mkdir()
    meta = json.loads((ZOO / "model.json").read_text())
    if edit_cfg:
        edit_cfg(meta["model_cfg"])
    if edit_meta:
        meta = edit_meta(meta)
    (folder / "model.json").write_text(json.dumps(meta))
    if raw is not None:
        (folder / "model.safetensors").write_bytes(raw)
    else:
        tensors = load_file(str(ZOO / "model.safetensors"))
        if edit_tensors:
            edit_tensors(tensors)
        write_safetensors(folder / "model.safetensors", tensors)
    return folder / "model"


def firmware(tmp, name: str, base, edit_meta=None, edit_tensors=None):
    from safetensors.numpy import load_file

    folder = tmp / name
    shutil.copytree(base, folder)
    meta = json.loads((folder / "firmware.json").read_text())
    if edit_meta:
        edit_meta(meta)
    (folder / "firmware.json").write_text(json.dumps(meta))
    if edit_tensors:
        tensors = load_file(str(folder / "firmware.safetensors"))
        edit_tensors(tensors)
        write_safetensors(folder / "firmware.safetensors", tensors)
    return folder


def set_layer(key, value, i=0):
    return lambda cfg: cfg["layers"][i].__setitem__(key, value)


def truncated() -> bytes:
    return (ZOO / "model.safetensors").read_bytes()[:5000]


CHECKPOINTS = {
    # case: (config edit, tensor edit, raw bytes, meta edit, what the one line must name)
    "huge": (set_layer("out_channels", 10**9), None, None, None, "model_cfg.layers[0].out_channels"),
    "twenty-million": (set_layer("out_channels", 20_000_000), None, None, None, "model_cfg.layers[0].out_channels"),
    "wide-but-in-range": (lambda c: c["layers"].extend([{"out_channels": 4096, "kernel": 31, "stride": 1,
                                                         "padding": 15}] * 3), None, None, None, "weights"),
    "negative": (set_layer("out_channels", -4), None, None, None, "model_cfg.layers[0].out_channels"),
    "zero-bins": (lambda c: c.__setitem__("bin_us", 0), None, None, None, "model_cfg.bin_us"),
    "zero-n-bins": (lambda c: c.__setitem__("n_bins", 0), None, None, None, "model_cfg.n_bins"),
    "tau-one": (lambda c: c.__setitem__("tau", 1.5), None, None, None, "model_cfg.tau"),
    "unknown-key": (lambda c: c.__setitem__("dropout", 0.5), None, None, None, "'dropout'"),
    "bias-not-a-bool": (lambda c: c.__setitem__("readout_bias", "yes"), None, None, None, "model_cfg.readout_bias"),
    "bias-without-tensor": (lambda c: c.__setitem__("readout_bias", True), lambda t: t.pop("model.readout.bias", None),
                            None, None, "model.readout.bias: missing"),
    "negative-refractory": (lambda c: c.__setitem__("refractory_us", -1), None, None, None,
                            "model_cfg.refractory_us"),
    "string-size": (lambda c: c.__setitem__("in_size", ["32", 32]), None, None, None, "model_cfg.in_size[0]"),
    "no-output": (set_layer("kernel", 31, 2), None, None, None, "model_cfg.layers[2]"),
    "sensor-not-a-multiple": (lambda c: c.__setitem__("sensor_size", [100, 128]), None, None, None,
                              "model_cfg.sensor_size"),
    "int32-weights": (None, lambda t: t.__setitem__("model.convs.0.weight",
                                                   t["model.convs.0.weight"].astype(np.int32)), None, None,
                      "model.convs.0.weight: dtype I32"),
    "missing-readout": (None, lambda t: t.pop("model.readout.weight"), None, None, "model.readout.weight: missing"),
    "extra-tensor": (None, lambda t: t.__setitem__("model.backdoor", np.zeros(3, np.float32)), None, None,
                     "model.backdoor"),
    "wrong-shape": (None, lambda t: t.__setitem__("model.convs.1.weight", np.zeros((32, 16, 5, 5), np.float32)),
                    None, None, "model.convs.1.weight: shape"),
    "pickle": (None, None, pickle.dumps({"model.convs.0.weight": [1, 2, 3]}), None, "not a safetensors file"),
    "truncated": (None, None, truncated(), None, "does not fit"),
    "lying-header": (None, None, struct.pack("<Q", 10**12) + b"{}", None, "not a safetensors file"),
    "not-json": (None, None, None, lambda m: "[1, 2", "not valid JSON"),
    "not-an-object": (None, None, None, lambda m: {**m, "model_cfg": [1, 2]}, "model_cfg: must be an object"),
    "bad-temperature": (None, None, None, lambda m: {**m, "decision": {"temperature": -1.0}},
                        "decision.temperature"),
}


def test_the_checked_fields_are_the_configs_fields():
    from models.config import ParallelConfig, SNNConfig

    assert CONV_FIELDS == {f.name for f in fields(SNNConfig)}
    assert PARALLEL_FIELDS == {f.name for f in fields(ParallelConfig)}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crafted")
    out = {}
    for name, (cfg, tensors, raw, meta, _) in CHECKPOINTS.items():
        if meta is not None and not callable(meta):
            raise AssertionError
        path = checkpoint(tmp, name, cfg, tensors, raw, None if meta is None else None)
        if meta is not None:
            text = meta(json.loads((ZOO / "model.json").read_text()))
            (path.parent / "model.json").write_text(text if isinstance(text, str) else json.dumps(text))
        out[name] = path
    return out


@pytest.mark.slow
def test_every_command_refuses_crafted_checkpoints_in_one_line(crafted, tmp_path):
    jobs = []
    for name, path in crafted.items():
        jobs += [
            (f"{name}/evaluate", ["evaluate", str(path), "--no-corruptions", "--limit-test", "2", "--quiet",
                                  "--out", str(tmp_path / "ev")]),
            (f"{name}/replay-float", ["replay", str(DEMO), "--headless", "--precision", "float", "--model", str(path)]),
            (f"{name}/replay-hard", ["replay", str(DEMO), "--headless", "--precision", "hard", "--model", str(path)]),
            (f"{name}/replay-int8", ["replay", str(DEMO), "--headless", "--precision", "int8", "--model", str(path)]),
            (f"{name}/export", ["export", str(path), "--out", str(tmp_path / "fw" / name)]),
            (f"{name}/train-init", ["train", "--dataset", "nmnist-real", "--init-from", str(path), "--epochs", "1",
                                    "--out", str(tmp_path / "t" / name), "--quiet"]),
        ]
    results = run_commands(jobs)
    bad = []
    for job, (rc, err) in results.items():
        want = CHECKPOINTS[job.split("/")[0]][4]
        lines = err.strip().splitlines()
        if not (rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and want in lines[0]
                and "Traceback" not in err):
            bad.append((job, rc, err[-300:]))
    assert bad == []


def test_every_command_refuses_crafted_firmware_folders_in_one_line(tmp_path):
    base = tmp_path / "fw"
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "export", str(ZOO / "model"), "--out", str(base)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    cases = {
        "zero-bins": (lambda m: m.__setitem__("bin_us", 0), None, "bin_us"),
        "unknown-field": (lambda m: m.__setitem__("overclock", True), None, "'overclock'"),
        "float-weights": (None, lambda t: t.__setitem__("conv0.weight", t["conv0.weight"].astype(np.float32)),
                          "conv0.weight: dtype F32"),
        "extra-tensor": (None, lambda t: t.__setitem__("conv9.weight", np.zeros(3, np.int8)), "unexpected"),
        "missing-tensor": (None, lambda t: t.pop("readout"), "missing ['readout']"),
        "string-shape": (lambda m: m["layers"][0].__setitem__("in_shape", ["2", 32, 32]), None, "layer 0"),
        "string-sensor": (lambda m: m.__setitem__("sensor_size", ["128", 128]), None, "sensor_size"),
        "bad-scale": (lambda m: m["layers"][0].__setitem__("scale", ["x"] * 16), None, "scale"),
        "bad-reject-class": (lambda m: m.__setitem__("decision", {"reject_class": 99}), None, "decision.reject_class"),
    }
    jobs = []
    for name, (meta, tensors, _) in cases.items():
        folder = firmware(tmp_path, name, base, meta, tensors)
        jobs.append((name, ["replay", str(DEMO), "--headless", "--model", str(folder)]))
    results = run_commands(jobs)
    bad = []
    for name, (rc, err) in results.items():
        lines = err.strip().splitlines()
        if not (rc == 2 and len(lines) == 1 and lines[0].startswith("error: ") and cases[name][2] in lines[0]):
            bad.append((name, rc, err[-300:]))
    assert bad == []
