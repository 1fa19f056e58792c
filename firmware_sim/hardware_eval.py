"""The on-sensor evaluation: a checkpoint quantized at several precisions and run in the integer simulator.

Precisions by name (what ``evaluate --hardware`` and ``replay --precision`` accept):

* ``int8`` — INT8 per-channel weights, int16 saturating membranes, multiply leak ``m/256`` (the default chip);
* ``int4`` — the same with INT4 weights;
* ``wide`` — 16-bit weights, 32-bit membranes, leak ``m/2^24``: the integer pipeline with rounding made
  negligible, to separate quantization loss from simulator error (it agrees with the float hard model).
"""

from __future__ import annotations

import numpy as np

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP, energy_report
from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from firmware_sim.simulator import Simulator
from sast_live.errors import SastLiveError

PRECISIONS = {
    "int8": QuantConfig(8),
    "int4": QuantConfig(4),
    "wide": QuantConfig(16, membrane_bits=32, leak_shift=24),
}


def precision_config(name: str) -> QuantConfig:
    try:
        return PRECISIONS[name]
    except KeyError:
        raise SastLiveError(f"unknown precision {name!r}; choose from {', '.join(PRECISIONS)}") from None


def evaluate_hardware(checkpoint, windows: np.ndarray, labels: np.ndarray, precisions, float_hard=None,
                      pj_per_synop: float = DEFAULT_PJ_PER_SYNOP, progress: bool = False) -> dict:
    """Accuracy, SynOps, saturations, memory and energy per precision.

    Args:
        windows: ``(N, T, 2, H, W)`` uint8 event-count windows (the evaluation windows of the float model).
        labels: ``(N,)`` class indices.
        float_hard: optional ``(N,)`` float hard-spike predictions, to report the agreement with them.
    """
    out = {}
    for name in precisions:
        model = quantize_checkpoint(checkpoint, precision_config(name))
        r = Simulator(model).classify(windows, progress=progress)
        synops = r["synops"].sum(1)
        entry = {
            "accuracy": float((r["predictions"] == labels).mean()),
            "synops_per_sample": float(synops.mean()),
            "synops_per_layer": r["synops"].mean(0).tolist(),
            "spikes_per_sample": r["spikes"].mean(0).tolist(),
            "saturations_per_sample": float(r["saturations"].sum(1).mean()),
            "weight_bits": model.weight_bits, "membrane_bits": model.membrane_bits,
            "leak": {"form": model.leak.form, "param": model.leak.param, "shift": model.leak.shift,
                     "factor": model.leak.factor, "trained_tau": model.tau},
            "memory": model.memory_report(),
            "energy": energy_report(float(synops.mean()), pj_per_synop),
        }
        if float_hard is not None:
            entry["agreement_with_float_hard"] = float((r["predictions"] == np.asarray(float_hard)).mean())
        out[name] = entry
    return out


def render_hardware_markdown(hw: dict) -> list[str]:
    """The report section: one row per precision."""
    lines = ["## On-sensor simulation (integer, hard spikes)", "",
             "| precision | accuracy | agrees with float hard | SynOps / sample | saturations / sample | "
             "weight bytes | state bytes | leak (tau) | energy / sample |", "|---|---|---|---|---|---|---|---|---|"]
    for name, e in hw.items():
        agree = e.get("agreement_with_float_hard")
        lines.append(f"| {name} | {e['accuracy']:.3f} | {'' if agree is None else f'{agree:.3f}'} | "
                     f"{e['synops_per_sample']:,.0f} | {e['saturations_per_sample']:.1f} | "
                     f"{e['memory']['weight_bytes']:,} | {e['memory']['state_bytes']:,} | "
                     f"{e['leak']['form']} {e['leak']['param']} ({e['leak']['factor']:.4f} for "
                     f"{e['leak']['trained_tau']}) | {e['energy']['energy_uj_per_sample']:.2f} µJ |")
    pj = next(iter(hw.values()))["energy"]["pj_per_synop"] if hw else DEFAULT_PJ_PER_SYNOP
    lines += ["", f"Energy = SynOps × {pj} pJ/SynOp (synaptic operations only).", ""]
    return lines


def render_comparison(reports: list[dict]) -> str:
    """Paper (b)'s table: float surrogate, float hard and each integer precision, one row per checkpoint."""
    precisions = list(dict.fromkeys(p for r in reports for p in r.get("hardware", {})))
    head = ["model", "method", "rho", "float surrogate", "float hard"] + [f"{p} hard" for p in precisions] + \
        [f"{p} SynOps/sample" for p in precisions]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in reports:
        hw = r.get("hardware", {})
        cells = [f"`{r['checkpoint']}`", str(r.get("method")), "—" if r.get("rho") is None else str(r["rho"]),
                 f"{r['accuracy']['surrogate']:.3f}", f"{r['accuracy']['hard']:.3f}"]
        cells += [f"{hw[p]['accuracy']:.3f}" if p in hw else "" for p in precisions]
        cells += [f"{hw[p]['synops_per_sample']:,.0f}" if p in hw else "" for p in precisions]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
