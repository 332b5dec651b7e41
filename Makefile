# vts — the two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Tests start servers that bind every interface (Milvus 2.3.5, Ray): run the
# suite in a loopback-only network namespace when the machine allows it.
NETNS  := $(shell unshare --net true >/dev/null 2>&1 && echo "unshare --net")

.PHONY: install demo test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[all,test]'
	touch $@

demo: install
	$(VENV)/bin/vts run jobs/quickstart.yaml

test: install
	VTS_REQUIRE_MILVUS_STANDALONE=$(if $(NETNS),1,0) $(NETNS) sh -c 'ip link set lo up 2>/dev/null; $(PY) -m pytest $(PYTEST_ARGS)'

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) benchmarks/bench_datagen_to_milvus_lite.py

clean:
	rm -rf $(VENV) .pytest_cache quickstart.db vts-dead-letters.jsonl
