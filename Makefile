# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench bench-setup clean

$(STAMP): pyproject.toml scripts/bootstrap.sh scripts/dependencies.py
	bash scripts/bootstrap.sh

setup: $(STAMP)

demo: $(STAMP)
	$(PY) examples/podcast.py

lint: $(STAMP)
	$(PY) -m ruff check extractly schemas tests benchmarks examples scripts
	$(PY) -m mypy
	$(PY) -m mypy --strict scripts/dependencies.py

# One pytest worker per core (at most 4: each holds a model and, for the tune tests, torch),
# each pinned to its own core by tests/conftest.py so ggml's spinning threads never share one.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 4 ] && n=4; echo $$n)

test: lint
	$(PY) -m pytest -q -n $(TEST_WORKERS)

bench-setup: $(STAMP)
	EXTRAS=dev,server,ray,bench bash scripts/bootstrap.sh

bench: bench-setup
	$(PY) benchmarks/core.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
