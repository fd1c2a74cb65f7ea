# The two quick-start commands: `make demo` and `make test`. Each installs what it needs (scripts/bootstrap.sh).
# Tests run in one process per core (pytest-xdist), each with one BLAS/OpenMP thread: threaded BLAS in several
# processes fights for the cores (and with llvmpipe), which made the suite twice as slow on 2 cores.
TEST_ENV = OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
.PHONY: demo test test-all lint bench

demo:
	bash scripts/bootstrap.sh
	.venv/bin/synthmouse demo --out demo

test:
	bash scripts/bootstrap.sh test
	$(TEST_ENV) .venv/bin/python -m pytest -q -n auto

test-all:
	bash scripts/bootstrap.sh test
	$(TEST_ENV) .venv/bin/python -m pytest -q -n auto -m "slow or not slow"

lint:
	bash scripts/bootstrap.sh test
	.venv/bin/ruff check src tests benchmarks docs examples
	.venv/bin/ruff format --check src tests benchmarks docs examples

bench:
	bash scripts/bootstrap.sh test
	for b in benchmarks/bench_*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done
