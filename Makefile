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

.PHONY: all build test test-deps run bench crds e2e-kind clean shim-aot gateway-r2r

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
	@gateway=$(GATEWAY_RELEASE)/FnOperator.Gateway.dll; \
	if [ -f $(GATEWAY_R2R)/FnOperator.Gateway.dll ] && [ -z "$$(find $(GATEWAY_RELEASE) -maxdepth 1 -name 'FnOperator.*.dll' -newer $(GATEWAY_R2R)/FnOperator.Gateway.dll)" ]; then \
	  gateway=$(GATEWAY_R2R)/FnOperator.Gateway.dll; echo "(the ReadyToRun gateway of \`make gateway-r2r\`)"; \
	elif [ -f $(GATEWAY_R2R)/FnOperator.Gateway.dll ]; then echo "(the ReadyToRun gateway in $(GATEWAY_R2R) is older than the Release build, so the Release build runs; \`make gateway-r2r\` refreshes it)"; fi; \
	set -x; exec $(DOTNET) $$gateway local --functions "$(FUNCTIONS)" --listen "$(LISTEN)" --queue "$(QUEUE)" $(ARGS)

# The runtime-shim published Native AOT (needs clang and zlib1g-dev; ~3-5 min here) with its .NET bootstrap, into
# $(SHIM_AOT): local mode (`make run`) launches it instead of the JIT DLL while it is not older than the Release DLL (a
# rebuilt DLL wins, so a stale binary never runs). Tests pin the JIT DLL (FNOP_SHIM_DLL) and CI does not build it;
# `make bench` measures both when it exists.
SHIM_AOT := runtime-shim/FnOperator.RuntimeShim/bin/aot
SHIM_RID := linux-$(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
# (No -p:DebugType=none here: a global property would rebuild FnOperator.Contracts' Release output without its .pdb,
# under the feet of the gateway and test builds; the symbol files are removed from the publish folder instead.)
# (The trailing / on the bootstrap folder matters: this dotnet CLI misreads an -o path ending in "dotnet".)
shim-aot:
	$(DOTNET) publish runtime-shim/FnOperator.RuntimeShim/FnOperator.RuntimeShim.csproj -c Release -r $(SHIM_RID) -o $(SHIM_AOT)
	$(DOTNET) publish runtime-shim/bootstraps/dotnet/FnOperator.DotnetBootstrap/FnOperator.DotnetBootstrap.csproj -c Release -o $(SHIM_AOT)/bootstraps/dotnet/
	rm -f $(SHIM_AOT)/*.dbg $(SHIM_AOT)/*.pdb $(SHIM_AOT)/bootstraps/dotnet/*.pdb
	touch $(SHIM_AOT)/FnOperator.RuntimeShim

# The gateway published ReadyToRun (precompiled: no JIT for its own start, invoke, pull and result paths) into
# $(GATEWAY_R2R). Opt-in: the publish takes ~1.5 min the first time here, 2 s when nothing changed, ~40 s after a
# source change (1-2 min after a csproj change). `make run` and the benchmarks run it instead of the Release build
# while it is not older than every FnOperator.*.dll of the Release output (a rebuilt project wins, so a stale gateway
# never runs; GatewayBuildLocator.cs is the same rule). Release is built first so the two come from the same sources; the touch marks the publish as newest.
# Framework-dependent: the shared framework is already ReadyToRun; docs/performance.md has the figures.
# R2R_COMPOSITE=1: self-contained, the framework and the gateway compiled into one composite image (~175 MB, 5-8 min
# here, and every gateway change recompiles all of it). The SDK's incremental ReadyToRun step does not notice a change of
# these flags, so its intermediate folder is cleared when they change (else a stale composite stub could be reused).
GATEWAY_R2R := operator/FnOperator.Gateway/bin/r2r
GATEWAY_RELEASE := operator/FnOperator.Gateway/bin/Release/net10.0
R2R_COMPOSITE ?=
GATEWAY_R2R_FLAGS := -r $(SHIM_RID) -p:PublishReadyToRun=true $(if $(filter 1 true,$(R2R_COMPOSITE)),--self-contained true -p:PublishReadyToRunComposite=true,--self-contained false)
gateway-r2r:
	$(DOTNET) build operator/FnOperator.Gateway -c Release
	@if [ "$$(cat $(GATEWAY_R2R)/.publish-flags 2>/dev/null)" != "$(GATEWAY_R2R_FLAGS)" ]; then \
	  rm -rf operator/FnOperator.Gateway/obj/Release/net10.0/$(SHIM_RID)/R2R $(GATEWAY_R2R); fi
	$(DOTNET) publish operator/FnOperator.Gateway/FnOperator.Gateway.csproj -c Release $(GATEWAY_R2R_FLAGS) -o $(GATEWAY_R2R)
	echo "$(GATEWAY_R2R_FLAGS)" > $(GATEWAY_R2R)/.publish-flags
	touch $(GATEWAY_R2R)/FnOperator.Gateway.dll

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
