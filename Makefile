# vts — the two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Tests start servers that bind every interface (Milvus 2.3.5, Ray): run the
# suite in a loopback-only network namespace when the machine allows it.
NETNS  := $(shell unshare --net true >/dev/null 2>&1 && echo "unshare --net")

# What the suite needs besides the venv, installed once by the scripts in
# tests/services (each exits early when its service is there). A stamp per
# service keeps `make test` from even starting them again; removing a
# service's folder (or .venv) installs it again. The installers' folder
# overrides are not passed on: the tests look in these default places.
unexport MILVUS_SERVER_VENV AZURITE_DIR
MILVUS_STAMP   := .venv-milvus-server/.installed
AZURITE_STAMP  := .azurite/.installed
POSTGRES_STAMP := $(VENV)/.postgres-installed
ES8_STAMP      := .venv-es8/.installed

.PHONY: install services demo test lint format bench bench-quick bench-peers clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[all,test]'
	touch $@

services: $(MILVUS_STAMP) $(AZURITE_STAMP) $(POSTGRES_STAMP) $(ES8_STAMP)

# Milvus 2.3.5 standalone in its own venv (~100 MB from PyPI the first time)
$(MILVUS_STAMP): tests/services/install_milvus_standalone.sh | $(VENV)/.installed
	PYTHON=$(abspath $(PY)) bash $<
	touch $@

# Azurite from npm into .azurite (needs node and npm)
$(AZURITE_STAMP): tests/services/install_azurite.sh
	bash $<
	touch $@

# the elasticsearch-py 8.x client in .venv-es8, to drive the Elasticsearch emulator with both client majors
$(ES8_STAMP): tests/services/install_es8_client.sh | $(VENV)/.installed
	PYTHON=$(abspath $(PY)) bash $<
	touch $@

# PostgreSQL + pgvector binaries in .venv, and the postgres OS user when root
$(POSTGRES_STAMP): tests/services/install_postgres.sh $(VENV)/.installed
	VENV=$(VENV) bash $<
	touch $@

demo: install
	$(VENV)/bin/vts run jobs/quickstart.yaml

test: install services
	VTS_REQUIRE_MILVUS_STANDALONE=$(if $(NETNS),1,0) $(NETNS) sh -c 'ip link set lo up 2>/dev/null; exec "$$@"' sh $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every bench path beside its limits (benchmarks/README.md): results in benchmarks/results/.
# Milvus 2.3.5 binds every interface: the runner goes into the loopback-only namespace too.
# (matplotlib and psutil come with the test extra: the harness has a test.)
bench: install services
	$(NETNS) sh -c 'ip link set lo up 2>/dev/null; exec "$$@"' sh $(PY) benchmarks/run.py $(ARGS)

bench-quick:
	$(MAKE) bench ARGS="--quick $(ARGS)"

# vector-io (PyPI vdf-io) in its own venv: it pins an old pymilvus and pulls a lot
PEERS_VENV := .venv-bench-peers
$(PEERS_VENV)/.installed:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q --upgrade pip
	# vdf-io imports every exporter at start: astrapy 2 dropped astrapy.db, setuptools 81 pkg_resources,
	# pinecone-client 6 is a stub that raises on import (renamed to pinecone)
	$(PEERS_VENV)/bin/pip install -q vdf-io 'astrapy<2' 'setuptools<81' 'pinecone-client<6'
	touch $@

bench-peers: install services $(PEERS_VENV)/.installed
	$(NETNS) sh -c 'ip link set lo up 2>/dev/null; exec "$$@"' sh $(PY) benchmarks/run.py --peers --only peers $(ARGS)

clean:
	rm -rf $(VENV) .venv-es8 .pytest_cache quickstart.db vts-dead-letters.jsonl
