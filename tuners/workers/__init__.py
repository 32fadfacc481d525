"""How a search runs: in this process, as a chief that serves the oracle to local or remote workers, or as one of
those workers."""
