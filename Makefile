# Pishkhan Edge — the two set-up commands: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test system system-test venv clean

demo: system venv
	$(BIN)/python -m scripts.demo

test: system-test venv
	bash scripts/run-tests.sh

system:
	bash scripts/install-system.sh run

system-test:
	bash scripts/install-system.sh test

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) demo-out build *.egg-info
