"""The suite: its cells, the runner that claims and runs them, and rounds of seeds until decided."""
