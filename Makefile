.PHONY: install format lint typecheck test bench ci

install:
	python -m pip install -e ".[test,dev]"

format:
	python -m ruff format src tests benchmarks examples
	python -m ruff check --fix src tests benchmarks examples

lint:
	python -m ruff check src tests benchmarks examples
	python -m ruff format --check src tests benchmarks examples

typecheck:
	python -m mypy

test:
	python -m pytest

bench:
	# The seed's loop is computed, not run (it would take 35 minutes): about 6 minutes in all.
	python benchmarks/bench_pipeline.py --seed-run-max 0 --markdown

ci:
	bash .ci/run
