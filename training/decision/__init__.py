"""How a model's outputs become the app's answer, fitted on validation data only: calibrated confidences and the
"no gesture" floor, the streaming window, and refitting them on a finished checkpoint."""
