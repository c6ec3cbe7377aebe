# The two commands of the README: `make run` and `make test`.
.PHONY: setup run test lint bench

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/pilotkg build
	.venv/bin/pilotkg serve

test: setup
	.venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check src api indexers tests

bench:
	.venv/bin/python benchmarks/bench_match.py
