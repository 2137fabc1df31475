PYTHON ?= python3
VENV := .venv
LINT_DIRS := $(wildcard include tests dags plugins bench)

.PHONY: venv demo test lint clean

venv: $(VENV)/.installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the requirements, the lock or the project metadata change.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -r requirements-dev.txt -c constraints.txt
	touch $@

demo: venv
	$(VENV)/bin/python -m prestaoracle demo

lint: venv
	$(VENV)/bin/ruff check $(LINT_DIRS)

test: lint
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup

clean:
	rm -rf $(VENV) build dist include/*.egg-info .pytest_cache .ruff_cache .hypothesis
	find include tests -name __pycache__ -type d -prune -exec rm -rf {} +
