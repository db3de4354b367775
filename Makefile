# Two commands for a fresh machine:
#   make run   - create .venv, install the app's pinned requirements, start the dashboard and
#                print its URL (it opens no browser; PORT=8502 make run for another port)
#   make test  - create .venv, install the dev requirements, lint and run every test
# `make test TORCH=1` also installs torch==2.13.0 (CPU) so the live PyTorch oracle tests run
# in addition to the committed golden files.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
TORCH  ?= 0

.PHONY: run test lint format bench golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.app-stamp: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-stamp: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.app-stamp

# One BLAS thread: this engine's matrices are small, and on a 2-core machine a second BLAS
# thread competes with the server and the browser (measured up to 5x slower under load).
# Headless: nothing opens a browser; the URL is printed for you to open (PORT=8502 for another).
run: $(VENV)/.app-stamp
	@echo "Optimizer lab: open http://localhost:$(PORT) in your browser (Ctrl+C stops it)"
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/streamlit run app.py --server.port $(PORT) \
		--server.headless true

test: $(VENV)/.dev-stamp
ifeq ($(TORCH),1)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
endif
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-stamp
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-stamp
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev-stamp
	$(BIN)/python -m benchmarks

golden: $(VENV)/.dev-stamp
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/python tests/golden/make_golden.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
