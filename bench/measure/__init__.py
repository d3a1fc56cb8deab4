"""Measuring a run: devices, the training-region clock, energy meters and the software environment."""
