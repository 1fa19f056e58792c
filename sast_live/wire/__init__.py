"""Byte protocols of event cameras on a serial line: eDVS4337 records and the framed EVT2 protocol.

Each protocol has an encoder (what a camera board sends; used by ``firmware_sim.camera_board``) and a
stateful decoder (``decode(data, state) -> (events, state)``) that survives any byte stream: garbage,
dropped or duplicated bytes are skipped, counted and never crash or emit out-of-range events.
"""

PROTOCOLS = ("edvs", "framed")
