"""Synaptic energy estimate (plain Python: the CLI reads its default without loading numba)."""

from __future__ import annotations

from sast_live.errors import SastLiveError

#: energy per synaptic operation used when none is given: Loihi's 23.6 pJ (Davies et al., IEEE Micro 2018)
DEFAULT_PJ_PER_SYNOP = 23.6


def check_pj_per_synop(pj_per_synop: float) -> None:
    if pj_per_synop < 0:
        raise SastLiveError(f"pJ per SynOp must be ≥ 0, got {pj_per_synop}")


def energy_report(synops_per_sample: float, pj_per_synop: float = DEFAULT_PJ_PER_SYNOP) -> dict:
    """Synaptic energy estimate: SynOps × pJ/SynOp (compute only; leak, memory and I/O not included)."""
    check_pj_per_synop(pj_per_synop)
    return {"pj_per_synop": pj_per_synop, "synops_per_sample": synops_per_sample,
            "energy_uj_per_sample": synops_per_sample * pj_per_synop * 1e-6}
