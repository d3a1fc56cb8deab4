"""Several ranks: torch.distributed collectives, launching ranks, and rank 0's store for the others."""
