# Two commands set everything up from nothing: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo_output
ML_VENV := .venv-monailabel

.PHONY: demo test lint install clean monai-label-env

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet torch==2.13.0
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BIN)/python scripts/demo.py --output $(DEMO_DIR)

lint: $(STAMP)
	@$(BIN)/ruff check .

test: lint
	@$(BIN)/python -m pytest -q

# MONAI Label 0.8.5 in a virtual environment of its own, serving and training the bundle (docs/monai_label.md)
monai-label-env:
	@PYTHON=$(PYTHON) bash scripts/monai_label_env.sh $(ML_VENV)

clean:
	rm -rf $(VENV) $(ML_VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
