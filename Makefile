# Quick start (README): `make demo` runs the main job on the embedded tiny default, `make test`
# runs the tests. Both install what they need first (tools/install.sh, idempotent).
PYTHON = $(shell bash tools/install.sh --python)
TINY_DATA ?= data/tiny

.PHONY: install data demo test lint format bench-tiny

install:
	bash tools/install.sh

data: install
	$(PYTHON) tools/dataset_converters/make_tiny_datasets.py --out $(TINY_DATA)

demo: data
	PYTHON=$(PYTHON) bash tools/quickstart.sh

# Every task trained on the tiny sets, TCFormer beside a stock backbone (docs/benchmarks.md: Does it learn?).
bench-tiny: data
	$(PYTHON) tools/analysis_tools/tiny_benchmark.py --data-root $(TINY_DATA)

# pytest exits with 5 when it collects no test: that is not a failure of the suite.
test: install
	$(PYTHON) -m pytest tests; rc=$$?; if [ $$rc = 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

# The style of setup.cfg: flake8, isort and yapf (check only; `make format` rewrites).
LINT_PATHS = tcformer_mm tools tests configs projects setup.py

lint: install
	$(PYTHON) -m flake8 $(LINT_PATHS)
	$(PYTHON) -m isort --check-only --diff $(LINT_PATHS)
	$(PYTHON) -m yapf --diff --recursive $(LINT_PATHS)

format: install
	$(PYTHON) -m isort $(LINT_PATHS)
	$(PYTHON) -m yapf --in-place --recursive $(LINT_PATHS)

