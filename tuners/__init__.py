"""Configuring and running keras-tuner searches, and what comes of them (`kerastune.tuners`).

- `options`: every search option, defined once (the command line, `SearchConfig` and the checks derive from it);
- `tf_noise`: TensorFlow's start-up chatter and known, harmless Keras messages kept out of the output;
- `run/`: one search, from its checked configuration to its summary: the experiment, the tuner, how a trial
  trains, the validation split, warm starts;
- `strategies/`: the search strategies (random, hyperband, bayesian, tpe, grid), their oracles and the policies
  the oracles enforce (deadline, configurations first, model size, pruning);
- `records/`: what a search leaves on disk: the project folder and its manifest, each trial's record, the lock,
  and the views read from them (summary, report, importance);
- `evaluation/`: the best models on the test set (`evaluate`), and the best configuration retrained and saved
  (`export`);
- `workers/`: how a search runs (in this process, as a chief with local or remote workers, as a worker);
- `integrations/`: TensorBoard, MLflow, the Optuna storage and optuna-dashboard, and the optional dependencies;
- `internals/`: every private attribute of keras-tuner, TensorFlow and Optuna that kerastune touches.

Nothing here prints or exits: the command line (`kerastune.app`) shows what these modules return. Submodules are
imported where they are used; those that build models load TensorFlow.
"""
