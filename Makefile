# newsclf — `make help` lists the targets. Variables: TASK, MODEL, RUN_DIR, ARGS (extra Hydra overrides).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# the data root: ../shared/data when it exists (the maintainers' layout), else ./data
NEWSCLF_DATA_ROOT ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),$(abspath data))
export NEWSCLF_DATA_ROOT
TASK ?= topic
MODEL ?= tfidf
RUN_DIR ?= runs/$(TASK)-$(MODEL)
ARGS ?=

.PHONY: help install train evaluate predict test test-slow test-all lint report clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build on disk; anything else would pull GBs of CUDA wheels
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

install: $(VENV)/.installed ## Create .venv (torch 2.13.0 CPU first) and install newsclf with dev extras

train: $(VENV)/.installed ## Train TASK (topic|stance|syndication) with MODEL (tfidf|transformer) into RUN_DIR
	$(PY) scripts/train.py task=$(TASK) model=$(MODEL) hydra.run.dir=$(RUN_DIR) $(ARGS)
	@echo "evaluate: $(PY) scripts/evaluate.py checkpoint=$(RUN_DIR)/checkpoint split=test"
	@echo "predict:  $(PY) scripts/predict.py checkpoint=$(RUN_DIR)/checkpoint input=seeds/000_0990739798a3f71f.txt"

evaluate: $(VENV)/.installed ## Evaluate RUN_DIR's checkpoint on its test split
	$(PY) scripts/evaluate.py checkpoint=$(RUN_DIR)/checkpoint split=test hydra.run.dir=$(RUN_DIR)/eval-test $(ARGS)

predict: $(VENV)/.installed ## Predict the seed article with RUN_DIR's checkpoint
	$(PY) scripts/predict.py checkpoint=$(RUN_DIR)/checkpoint input=seeds/000_0990739798a3f71f.txt $(ARGS)

RUNS ?= runs multirun
REPORT_DIR ?= runs/report
report: $(VENV)/.installed ## Leaderboard (md + html) of RUNS="dir1 dir2" (run dirs or folders of them) into REPORT_DIR
	$(PY) scripts/report.py "runs=[$$(echo $(RUNS) | tr -s ' ' ',')]" output=$(REPORT_DIR) $(ARGS)

test: $(VENV)/.installed ## Run the default test suite (everything but slow and GPU tests)
	$(PY) -m pytest -q -m "not slow and not gpu" $(ARGS)

test-slow: $(VENV)/.installed ## Run the slow tests (real-data transformer training)
	$(PY) -m pytest -q -m "slow and not gpu" $(ARGS)

lint: $(VENV)/.installed ## Lint with ruff
	$(VENV)/bin/ruff check src scripts tests benchmarks

clean: ## Remove runs/, multirun/ and caches (keeps .venv)
	rm -rf runs multirun .pytest_cache .ruff_cache
