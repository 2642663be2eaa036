# SOXauto: `make demo` runs the month-end job on the embedded demo lake; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 0.1
SEED ?= 7
FIRST_PERIOD ?= 2025-07
PERIODS ?= 3
LAKE ?= demo-lake

.PHONY: install lock demo test bench clean lint

install: $(STAMP)

# Installs exactly the lock (requirements-dev.txt: every package pinned, with hashes, --no-deps so
# pip resolves nothing), then SOXauto itself with the locked setuptools. `make lock` refreshes it.
$(STAMP): pyproject.toml requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

lock:
	PYTHON=$(PYTHON) bash scripts/lock.sh

$(LAKE)/ground_truth.json: | $(STAMP)
	$(BIN)/soxauto lake generate --out $(LAKE) --scale $(SCALE) --seed $(SEED) --first-period $(FIRST_PERIOD) --periods $(PERIODS)

# The month-end close of every period of the lake, oldest first, as a finance team closes
# them: each close reads the previous month's items, so the latest period shows items that
# aged and timing items whose window started months ago. Exit 1 or 2 means the control found
# exceptions or warnings (results, not failures of the demo); 3 and above fail the target.
DEMO_PERIODS = $$($(BIN)/python -c "from soxauto.period import Period; p = Period.parse('$(FIRST_PERIOD)'); print(*(p.shift(i) for i in range($(PERIODS))))")
demo: $(STAMP) $(LAKE)/ground_truth.json
	@for p in $(DEMO_PERIODS); do \
	  echo "== close $$p"; $(BIN)/soxauto close --lake $(LAKE) --period $$p; rc=$$?; [ $$rc -le 2 ] || exit $$rc; \
	done

# Every core: pytest-xdist, tests handed out one by one as workers free up (worksteal), since a
# few files hold most of the time. Tests that start servers bind port 0 or a socket they own.
test: $(STAMP)
	bash scripts/test-deps.sh
	$(BIN)/python -m pytest -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-bench.txt
	$(BIN)/python bench/extract_all.py

clean:
	rm -rf $(VENV) $(LAKE) .soxauto out
