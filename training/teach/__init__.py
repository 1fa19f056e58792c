"""Teaching a model new classes on the sensor's own features: the feature bank a model ships with (``bank``), the
convex readout fit (``fit``) and the command's steps (``readout``)."""
