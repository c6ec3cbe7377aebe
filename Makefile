# The two commands of the README: `make run` and `make test`.
.PHONY: setup run test lint bench

SRC := src api indexers tests benchmarks scripts

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/pilotkg build
	.venv/bin/pilotkg serve

# lint: ruff (rules + formatting), the import graph (no cycles, layers, no shims), mypy --strict
lint:
	.venv/bin/ruff check $(SRC)
	.venv/bin/ruff format --check $(SRC)
	.venv/bin/python scripts/check_imports.py
	.venv/bin/python scripts/typecheck.py

test: setup lint
	.venv/bin/python -m pytest -q

bench:
	.venv/bin/python benchmarks/bench_match.py
