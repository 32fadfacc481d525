# Quick start:  make demo   (a short real search, the test accuracy of its best models, the best one exported)
#               make test   (the test suite)
# Both create .venv and install kerastune with its dependencies on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# make demo DATA=path/to/mnist.npz uses that file; without it, Keras's MNIST or the bundled sample.
DATA ?=

.PHONY: install demo test clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/kerastune random mlp --name demo --max-trials 3 --epochs 2 $(if $(DATA),--data $(DATA))
	$(BIN)/kerastune evaluate tuning/demo --top 3
	$(BIN)/kerastune export tuning/demo --overwrite

test: $(INSTALLED)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) tuning *.egg-info .pytest_cache
