# Quick start:  make demo   (a short real search, the test accuracy of its best models, the best one exported)
#               make test   (the linter, then the test suite)
#               make docs   (the documentation site, built into site/)
# Each creates .venv and installs kerastune with its dependencies on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DOCS_INSTALLED := $(VENV)/.docs-installed
# make demo DATA=path/to/mnist.npz uses that file; without it, Keras's MNIST or the bundled sample.
DATA ?=

.PHONY: install demo test docs clean

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
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The site (mkdocs.yml, docs/) into site/, strictly: a warning (a broken link, an unreadable docstring) fails it.
# NO_MKDOCS_2_WARNING silences the Material theme's banner about its future, which is not about this site.
docs: $(DOCS_INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

$(DOCS_INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $(DOCS_INSTALLED)

clean:
	rm -rf $(VENV) tuning *.egg-info .pytest_cache site
