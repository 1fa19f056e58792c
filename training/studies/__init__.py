"""Multi-run studies: rho sweeps over seeds with paired intervals, and the overview figure over several sweeps."""
