# The two commands of the README, each doing its own setup from a fresh clone.
#   make demo   creates .venv, installs yuqing, runs the offline demo
#   make test   creates .venv with the dev extras, runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test browser lint lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are stamped so a second `make` is instant; a changed pyproject or lock reinstalls.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/yuqing demo

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

# The dashboard's end-to-end tests drive Debian's Chromium; installed once (as root, as CI runs),
# instant when present. YUQING_SKIP_BROWSER=1 skips those tests and this step.
browser:
	@if [ "$$YUQING_SKIP_BROWSER" = 1 ] || (command -v chromium && command -v chromedriver) >/dev/null; \
	then :; else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-pin every dependency to what a fresh resolve gives today (review the diff before committing).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e '.[dev]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) var
