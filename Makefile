.PHONY: install format lint typecheck test bench ci

install:
	python -m pip install -e ".[test,dev]"

format:
	python -m ruff format src tests benchmarks
	python -m ruff check --fix src tests benchmarks

lint:
	python -m ruff check src tests benchmarks
	python -m ruff format --check src tests benchmarks

typecheck:
	python -m mypy

test:
	python -m pytest

bench:
	python benchmarks/bench_pipeline.py

ci:
	bash .ci/run
