"""After a search: its best models measured on the test set (`evaluate`), and its best configuration retrained on
all the training examples and saved (`export`)."""
