# Pishkhan Edge — the two set-up commands: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test system system-test venv clean deb package-e2e update-e2e office-day

demo: system venv
	$(BIN)/python -m scripts.demo

# Two pytest-xdist workers, a test file each at a time (module fixtures stay whole); each has its own Xvfb.
test: system-test venv
	bash scripts/run-tests.sh -n 2 --dist loadfile

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

# The whole office and its centre through a day of faults (docs/testing.md); SEED=N replays a day.
office-day: system-test venv
	KIVY_TEXT=pil KIVY_NO_ARGS=1 KIVY_NO_CONSOLELOG=1 KIVY_LOG_MODE=PYTHON PYTHONPATH=$(CURDIR) \
		$(BIN)/python bench/office_day.py $(if $(SEED),--seed $(SEED))

# Release tools (not set-up): docs/release.md.
ARCH            ?= $(shell dpkg --print-architecture)

deb: system-test venv
	ARCH=$(ARCH) bash packaging/build-deb.sh --lintian

package-e2e: system-test venv
	ARCH=$(ARCH) bash packaging/e2e.sh

update-e2e: system-test venv
	ARCH=$(ARCH) bash packaging/update-e2e.sh

clean:
	rm -rf $(VENV) demo-out build *.egg-info
