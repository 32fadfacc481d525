"""Other tools kerastune writes to or starts: TensorBoard, MLflow, an Optuna storage and optuna-dashboard."""
