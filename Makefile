# `make figures` regenerates every result; `make test` runs the unit tests and the notebooks (smoke).
# `make help` (or a bare `make`) lists the targets and variables from their `## ` annotations below.
## the Python that builds .venv when conda is absent
PYTHON      ?= python3
## the environment folder
VENV        ?= .venv
## figures: smoke|cpu|paper (smoke runs are never published)
PROFILE     ?= cpu
## figures: 1|0|true|false, retrain runs already stored
FORCE       ?= 0
## figures: runs trained in parallel (local processes)
WORKERS     ?= 2
## data, figures, test: take the datasets from this local folder instead of downloading them
DATA_MIRROR ?=
## figures: where runs train, local|dask (see plasticity_utils/executors.py)
EXECUTOR    ?= local
## figures: the Dask scheduler's address for EXECUTOR=dask, e.g. tcp://127.0.0.1:8786
DASK_SCHEDULER ?=
PY          := $(VENV)/bin/python
NOTEBOOKS   := $(sort $(wildcard notebooks/*.ipynb))
MIRROR_ARG  := $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR),)

.PHONY: help setup data figures test benchmarks benchmark-gpu clean-results

help: ## list the targets and variables (this text)
	@echo "usage: make TARGET [VARIABLE=value ...]"; echo; echo "targets:"
	@awk -F':.*## ' '/^[a-z][a-z-]*:.*## / {printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo; echo "variables (NAME=default):"
	@awk '/^## / {doc = substr($$0, 4); next} \
	     doc && /^[A-Z_]+ *\?=/ {value = $$0; sub(/^[^=]*= */, "", value); \
	       printf "  %-22s %s\n", $$1 "=" value, doc} {doc = ""}' $(MAKEFILE_LIST)

setup: $(VENV)/.installed ## build .venv from environment.yml and install the package (editable)

# conda when present (same environment.yml), else a venv with the pip list read from environment.yml
$(VENV)/.installed: environment.yml pyproject.toml
	@if command -v conda >/dev/null 2>&1 && [ ! -x $(PY) ]; then \
	  conda env create --prefix $(VENV) --file environment.yml; \
	else \
	  [ -x $(PY) ] || $(PYTHON) -m venv $(VENV); \
	  awk '/- pip:/{p=1; next} p && /^ *- /{sub(/^ *- /, ""); sub(/ *#.*/, ""); print}' environment.yml \
	    > $(VENV)/requirements.txt; \
	  $(PY) -m pip install --quiet --upgrade pip; \
	  $(PY) -m pip install --quiet -r $(VENV)/requirements.txt; \
	fi
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

data: setup ## fetch CIFAR-10 and Omniglot into data/ (checked by md5)
	$(PY) -m plasticity_utils.data --dest data $(MIRROR_ARG)

# Each notebook runs into a staging folder of its own under build/notebooks/$(PROFILE)/ and is published (cpu: over notebooks/; paper:
# notebooks/paper/; figures/ or figures/paper/) only when it finished; smoke runs are never published.
figures: setup data ## run every notebook at PROFILE and publish its figures and verdicts
	PLASTICITY_EXECUTOR=$(EXECUTOR) PLASTICITY_DASK_SCHEDULER=$(DASK_SCHEDULER) \
	  $(PY) tools/notebooks.py execute --profile $(PROFILE) --force $(FORCE) --workers $(WORKERS) $(NOTEBOOKS)

test: setup data ## the unit tests and every notebook under nbval (smoke profile)
	rm -rf build/nbval
	$(PY) tools/notebooks.py smoke-copies build/nbval $(NOTEBOOKS)
	PLASTICITY_PROFILE=smoke $(PY) -m pytest tests build/nbval --nbval-lax --nbval-cell-timeout=900 -q

benchmarks: setup ## speed and memory scripts for this machine (a few minutes)
	@for b in benchmarks/*.py; do case $$b in benchmarks/gpu.py|benchmarks/graphs.py|benchmarks/launch.py) continue;; esac; \
		echo "== $$b"; $(PY) $$b || exit 1; done

# the paper profile's per-update costs and predicted wall time on this machine's device (meant for a GPU)
benchmark-gpu: setup data ## the paper profile's per-update costs and predicted wall time (meant for a GPU)
	$(PY) benchmarks/gpu.py
	$(PY) benchmarks/graphs.py

clean-results: ## delete results/ (every stored run)
	rm -rf results
