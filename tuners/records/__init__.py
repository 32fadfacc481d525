"""What a search leaves on disk, and the views read from it: the project folder and its manifest, each trial's
record, the lock that allows one writer, the summary, the report and the importance of the hyperparameters.
Nothing here imports TensorFlow."""
