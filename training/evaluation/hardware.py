"""The on-sensor evaluation report: a checkpoint quantized at several integer precisions (the table in
:mod:`firmware_sim.precisions`) and run in the integer simulator; its markdown section and paper (b)'s table."""

from __future__ import annotations

import numpy as np

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP, energy_report
from firmware_sim.precisions import INTEGER, PRECISIONS, get_precision
from firmware_sim.quantize import quantize_checkpoint
from firmware_sim.simulator import Simulator


def evaluate_hardware(checkpoint, windows: np.ndarray, labels: np.ndarray, precisions, float_hard=None,
                      pj_per_synop: float = DEFAULT_PJ_PER_SYNOP, progress: bool = False) -> tuple[dict, dict]:
    """Accuracy, SynOps, saturations, memory and energy per precision (the report, JSON-ready), and per precision
    the simulator's outputs ``(predictions (N,), logits (N, n_classes), channels (N, C_last), cells (N, H·W))``
    for what the caller derives from them (``channels``: the last layer's spikes per channel per bin, the
    unfamiliar-scene check's features; ``cells``: per position, summed over channels, with ``channels`` the
    no-gesture gate's).

    Args:
        windows: ``(N, T, 2, H, W)`` uint8 event-count windows (the evaluation windows of the float model).
        labels: ``(N,)`` class indices.
        float_hard: optional ``(N,)`` float hard-spike predictions, to report the agreement with them.
    """
    out, outputs = {}, {}
    for name in precisions:
        model = quantize_checkpoint(checkpoint, get_precision(name, INTEGER).quant_config())
        r = Simulator(model).classify(windows, progress=progress, last_counts=True)
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
        n_c = model.layers[-1].out_shape[0]  # counts are in the simulator's (H, W, C) order
        per_neuron = r["last_counts"].reshape(len(windows), -1, n_c) / model.n_bins
        outputs[name] = (r["predictions"], model.to_logits(r["scores"], model.n_bins), per_neuron.sum(1),
                         per_neuron.sum(2))
    return out, outputs


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
    head = ["model", "method", "rho", PRECISIONS["float"].title, PRECISIONS["hard"].title] + \
        [f"{PRECISIONS[p].title} hard" for p in precisions] + \
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
