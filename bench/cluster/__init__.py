"""Scaling a suite out over a cluster's jobs: `bench launch` submits `bench run --worker` tasks through submitit
(Slurm, or local processes), each claiming cells in the suite's shared database (docs/scaling-out.md)."""
