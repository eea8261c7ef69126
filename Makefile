# Two commands do everything on a fresh machine (see README):
#   make run    create .venv with Python 3.12, install, run one simulation
#   make test   create .venv with Python 3.12, install, run the whole test suite
#   make test-all   (as root) the same after starting a single-node Slurm and installing
#                   Chromium, as CI does (.ci/run): nothing is skipped
# Extra arguments: make run ARGS="n_workers=100000 seed=7"   make test PYTEST_ARGS="-k ties"

VENV := .venv
# Python 3.12: $PYTHON if set, else pyenv's 3.12.x, else python3.12 on PATH
PYTHON ?= $(shell for p in $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1) python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
ARGS ?=
PYTEST_ARGS ?= -n auto --durations=10

.PHONY: run test test-all install lint configs clean-venv

$(VENV)/.installed: pyproject.toml setup.py
	@test -n "$(PYTHON)" || { echo "error: Python 3.12 not found (pyenv or python3.12 on PATH); set PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/python -m sim run +strategy=lions $(ARGS)

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The steps (Slurm up unless already up, Chromium, make test, Slurm down if started) are
# defined once, in .ci/run; CI=1 makes a test whose service is missing fail, not skip.
test-all: $(VENV)/.installed
	@test "$$(id -u)" = 0 || { echo "error: make test-all needs root: it installs and starts a single-node Slurm and installs Chromium with apt (sudo make test-all)" >&2; exit 2; }
	CI=1 bash .ci/run

# ruff, and the import contract of the layers (.importlinter: the model core imports nothing
# above it, analysis reads run folders only); run by .ci/run before the tests
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check sim analysis experiments benchmarks tests hydra_plugins
	$(VENV)/bin/lint-imports

# the YAML under configs/ generated from the config dataclasses (defaults, help):
# run after changing sim/core/config.py or a strategy's Params, then commit the YAML
configs: $(VENV)/.installed
	$(VENV)/bin/python -m sim.workflow.configs_yaml --write

clean-venv:
	rm -rf $(VENV)
