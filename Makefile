# `make figures` regenerates every result; `make test` runs the unit tests and the notebooks (smoke).
# Variables: PROFILE=smoke|cpu|paper (figures), FORCE=1|0|true|false (retrain stored runs), WORKERS=2 (parallel runs),
#            DATA_MIRROR=<dir> (take datasets from a local mirror instead of downloading),
#            EXECUTOR=local|dask with DASK_SCHEDULER=tcp://host:8786 (where runs train; see executors.py).
PYTHON      ?= python3
VENV        ?= .venv
PROFILE     ?= cpu
FORCE       ?= 0
WORKERS     ?= 2
DATA_MIRROR ?=
EXECUTOR    ?= local
DASK_SCHEDULER ?=
PY          := $(VENV)/bin/python
NOTEBOOKS   := $(sort $(wildcard notebooks/*.ipynb))
MIRROR_ARG  := $(if $(DATA_MIRROR),--mirror $(DATA_MIRROR),)

.PHONY: setup data figures test benchmarks benchmark-gpu clean-results

setup: $(VENV)/.installed

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

data: setup
	$(PY) -m plasticity_utils.data --dest data $(MIRROR_ARG)

# Each notebook runs into a staging folder of its own under build/notebooks/$(PROFILE)/ and is published (cpu: over notebooks/; paper:
# notebooks/paper/; figures/ or figures/paper/) only when it finished; smoke runs are never published.
figures: setup data
	PLASTICITY_EXECUTOR=$(EXECUTOR) PLASTICITY_DASK_SCHEDULER=$(DASK_SCHEDULER) \
	  $(PY) tools/notebooks.py execute --profile $(PROFILE) --force $(FORCE) --workers $(WORKERS) $(NOTEBOOKS)

test: setup data
	rm -rf build/nbval
	$(PY) tools/notebooks.py smoke-copies build/nbval $(NOTEBOOKS)
	PLASTICITY_PROFILE=smoke $(PY) -m pytest tests build/nbval --nbval-lax --nbval-cell-timeout=900 -q

benchmarks: setup
	@for b in benchmarks/*.py; do case $$b in benchmarks/gpu.py|benchmarks/graphs.py|benchmarks/launch.py) continue;; esac; \
		echo "== $$b"; $(PY) $$b || exit 1; done

# the paper profile's per-update costs and predicted wall time on this machine's device (meant for a GPU)
benchmark-gpu: setup data
	$(PY) benchmarks/gpu.py
	$(PY) benchmarks/graphs.py

clean-results:
	rm -rf results
