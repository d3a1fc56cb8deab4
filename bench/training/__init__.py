"""One run's training: the loop, the one-off warm-up, step-price calibration, evaluation and what a run measured."""
