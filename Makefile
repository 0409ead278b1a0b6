# portside: every target sets up what it needs. Only python3 is assumed on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := dev,bench,sqlite,postgres,mysql,migrations,redis,rabbitmq,nats,http,grpc

.DEFAULT_GOAL := help
.PHONY: help install lock test lint bench run tour protos clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt holds the release of every package the install resolved when it was last
# refreshed (`make lock`): a clean clone installs the same set, so a new upstream release
# cannot turn CI red on its own.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

LOCK_VENV := .venv-lock

lock: ## re-resolve constraints.txt: the newest releases pyproject.toml admits
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(LOCK_VENV)/bin/python -m pip freeze --exclude-editable > constraints.txt
	rm -rf $(LOCK_VENV)

install: $(STAMP) ## create .venv and install portside with every extra and the dev tools

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy --strict on src/ and examples/, import-linter contracts
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/mypy tests/typing
	$(BIN)/lint-imports

bench: $(STAMP) ## run the benchmarks side by side with peers and baselines
	$(BIN)/python benchmarks/di_bench.py
	$(BIN)/python benchmarks/storage_bench.py
	$(BIN)/python benchmarks/messaging_bench.py
	$(BIN)/python benchmarks/http_bench.py
	$(BIN)/python benchmarks/grpc_bench.py

USERS_CONFIG := examples/users/portside.toml

run: $(STAMP) ## start the users service: SQLite in ./var, HTTP :8000, gRPC :50051 (Ctrl-C stops)
	@mkdir -p var
	$(BIN)/portside db upgrade --config $(USERS_CONFIG)
	$(BIN)/portside run --config $(USERS_CONFIG)

tour: $(STAMP) ## run the README's python examples as one program
	$(BIN)/python examples/readme_tour.py

protos: $(STAMP) ## regenerate the examples' gRPC code (and .pyi stubs) from their .proto files
	$(BIN)/python -m grpc_tools.protoc -I examples --python_out=examples \
		--grpc_python_out=examples --mypy_out=examples --mypy_grpc_out=examples \
		--plugin=protoc-gen-mypy=$(BIN)/protoc-gen-mypy \
		--plugin=protoc-gen-mypy_grpc=$(BIN)/protoc-gen-mypy_grpc \
		examples/users/contract/proto/users.proto

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis var
