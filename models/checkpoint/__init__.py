"""Self-describing checkpoints: ``NAME.safetensors`` (tensors) + ``NAME.json`` (config, history, state).

* :mod:`models.checkpoint.files` — finding a checkpoint's two files, the checked JSON reader, the safetensors
  header; no torch (``firmware_sim`` reads checkpoints too);
* :mod:`models.checkpoint.schema` — what a config may hold, checked before anything is built; no torch;
* :mod:`models.checkpoint.weights` — saving and loading weights, optimizer and RNG state (torch).

Nothing is imported here, so reading a checkpoint's JSON never loads torch.
"""
