# FnOperator — developer entry points. `make run` and `make test` are the README's first two commands.
SHELL := /bin/bash
DOTNET ?= dotnet
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

# Folder or file of Function manifests that local mode serves.
FUNCTIONS ?= examples
# Local-mode listen address.
LISTEN ?= 127.0.0.1:9000
# More local-mode options, e.g. ARGS='--idle-seconds 30 --retry-base-delay-seconds 1' (see docs/local-mode.md).
ARGS ?=
# Local-mode queue: memory (default) or nats://host:port (a nats-server -js), so queued async events survive a restart.
QUEUE ?= memory
# Benchmark filter: empty runs every benchmark; otherwise a name such as shim, gateway, operator.
BENCH ?=
# Extra arguments for dotnet test, e.g. TEST_ARGS='--filter FullyQualifiedName~Shim'.
TEST_ARGS ?=

NODE_TOOLS := tests/node/node_modules/.installed

.PHONY: all build test test-deps run bench crds e2e-kind clean

all: build

build:
	$(DOTNET) build FnOperator.sln -c Release

# Node packages the tests drive (aws-lambda-ric, the JS Lambda SDK client, helm). Installed once, from package-lock.json.
$(NODE_TOOLS): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund
	touch $@

test-deps: $(NODE_TOOLS)

test: test-deps
	$(DOTNET) build FnOperator.sln -c Release
	bash tests/run-tests.sh $(TEST_ARGS)

# Local mode: the gateway, the in-process queue and shim+runtime pools for the functions in $(FUNCTIONS).
# (The .NET example is published first: local mode serves dotnet functions from published code.)
run:
	$(DOTNET) build runtime-shim/FnOperator.RuntimeShim -c Release
	$(DOTNET) publish examples/hello-dotnet/src -c Release -o examples/hello-dotnet/publish
	$(DOTNET) build operator/FnOperator.Gateway -c Release
	$(DOTNET) operator/FnOperator.Gateway/bin/Release/net10.0/FnOperator.Gateway.dll local --functions "$(FUNCTIONS)" --listen "$(LISTEN)" --queue "$(QUEUE)" $(ARGS)

bench: test-deps
	$(DOTNET) run -c Release --project tests/FnOperator.Benchmarks -- $(BENCH)

# Regenerate crds/*.yaml and the chart's copy from the C# model types.
crds:
	$(DOTNET) run -c Release --project operator/FnOperator.CrdGen -- crds charts/fn-operator/crds

# Real-cluster path: kind + images + helm install + a smoke invoke. Needs Docker, kind, kubectl, helm.
e2e-kind:
	bash tests/e2e/kind.sh

clean:
	$(DOTNET) clean FnOperator.sln
	rm -rf tests/node/node_modules
