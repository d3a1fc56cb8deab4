"""One training run: the loop, evaluation, devices and clocks, and the suite runner."""
