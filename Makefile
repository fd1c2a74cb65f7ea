# The two quick-start commands: `make demo` and `make test`. Each installs what it needs (scripts/bootstrap.sh).
.PHONY: demo test test-all lint bench

demo:
	bash scripts/bootstrap.sh
	.venv/bin/synthmouse demo --out demo

test:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m pytest -q

test-all:
	bash scripts/bootstrap.sh test
	.venv/bin/python -m pytest -q -m "slow or not slow"

lint:
	bash scripts/bootstrap.sh test
	.venv/bin/ruff check src tests benchmarks

bench:
	bash scripts/bootstrap.sh test
	for b in benchmarks/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
