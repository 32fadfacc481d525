"""kerastune's command line and evaluator."""
