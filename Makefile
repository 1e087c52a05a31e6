# Everyday commands. Each target installs what it needs first, once: a second call reuses
# the virtual environment and the data.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
# The tested pair; other pairs may fail to import torchvision.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# Extra arguments for train.py, e.g. make train ARGS="seed=7"
ARGS ?=
INSTALLED := $(VENV)/.installed
# make bench settings: epochs per runner, rounds (each runner once per round) and
# OMP_NUM_THREADS for every runner (empty: torch's default), e.g. make bench EPOCHS=2.
# make bench-loop reads THREADS too.
EPOCHS ?= 10
ROUNDS ?= 1
THREADS ?=

.PHONY: help install data train sweep test lint tensorboard bench bench-loop clean-venv

help:
	@echo "make train        set up everything, then train 10 epochs (ARGS='key=value ...')"
	@echo "make sweep        grid sweep: 2 batch sizes x 2 learning rates, 3 epochs each (ARGS=...)"
	@echo "make test         set up everything, then run the test suite"
	@echo "make tensorboard  serve TensorBoard for logs/ on http://localhost:6006"
	@echo "make bench        time the classic recipe, a plain loop and train.py (EPOCHS=10)"
	@echo "make bench-loop   time what Lightning's loop adds to each training step"
	@echo "make data         find the Fashion-MNIST files, installing Debian's package if needed"
	@echo "make install      create $(VENV) with the pinned torch pair and this package"
	@echo "make lint         ruff check and format check"

install: $(INSTALLED)

# The sweep extra (Optuna sweeper, joblib launcher) is optional: where it cannot be installed,
# only hparams_search=optuna, hydra/launcher=joblib and their tests are unavailable.
$(INSTALLED): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet $(TORCH_SPEC)
	$(PYTHON) -m pip install --quiet -e '.[dev,sweep,cluster,export]' || \
		{ echo "Installing without the optional sweep, cluster and export extras."; $(PYTHON) -m pip install --quiet -e '.[dev]'; }
	touch $@

data: $(INSTALLED)
	@scripts/get-data.sh $(PYTHON)

train: data
	$(PYTHON) src/fmnist/train.py $(ARGS)

# configs/hparams_search/grid.yaml; ARGS adds or replaces settings, e.g. ARGS="seed=1,2".
sweep: data
	$(PYTHON) src/fmnist/train.py hparams_search=grid $(ARGS)

# The suite runs without the real data too (those tests are skipped), so a failed
# data install only warns here.
test: $(INSTALLED)
	@scripts/get-data.sh $(PYTHON) || echo "Continuing without the real data set: tests that need it are skipped."
	$(PYTHON) -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

tensorboard: $(INSTALLED)
	$(VENV)/bin/tensorboard --logdir logs --host localhost --port 6006

bench: data
	$(PYTHON) benchmarks/run.py --epochs $(EPOCHS) --rounds $(ROUNDS) $(if $(THREADS),--threads $(THREADS))

# Needs no data set: it trains on random images.
bench-loop: $(INSTALLED)
	$(if $(THREADS),OMP_NUM_THREADS=$(THREADS) )$(PYTHON) benchmarks/loop_overhead.py

clean-venv:
	rm -rf $(VENV)
