#!/usr/bin/env bash
# make e2e-kind: the real-cluster path. Creates a kind cluster, builds the three images and loads them into it,
# installs the chart, applies examples/hello-node (code from a ConfigMap), invokes it with the AWS CLI through a
# port-forward to the gateway, and deletes the cluster.
#
# Needs: docker, kind, kubectl, helm (v3.8+ or v4), the AWS CLI v2, curl, jq.
#
# Usage:  tests/e2e/kind.sh [run|plan|function-manifest]
#   run                (default) everything above
#   plan               print the commands of `run` without running anything (no tools needed)
#   function-manifest  print the Function manifest that `run` applies
#
# Environment:
#   KIND_CLUSTER   cluster name                         (default fnop-e2e)
#   KEEP_CLUSTER   1 = leave the cluster running at the end   (default 0)
#   LOCAL_PORT     local port of the gateway port-forward    (default 19000)
#   AWS_CLI        AWS CLI v2 executable                     (default aws)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CHART="$ROOT/charts/fn-operator"
CLUSTER="${KIND_CLUSTER:-fnop-e2e}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
LOCAL_PORT="${LOCAL_PORT:-19000}"
AWS_CLI="${AWS_CLI:-aws}"
RELEASE=fn-operator
SYSTEM_NS=fn-system
FUNCTION_NS=fnop-e2e
FUNCTION=hello-node
EXAMPLE="$ROOT/examples/hello-node"
# The access key the AWS CLI signs with (a test key: the cluster is thrown away).
E2E_KEY_ID=AKIAFNOPE2E000000001
E2E_SECRET=fnop-e2e-secret-access-key-0000000000000
TAG="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$CHART/Chart.yaml")"
IMAGES=(
  "fnoperator/operator:$TAG operator/Dockerfile.operator"
  "fnoperator/gateway:$TAG operator/Dockerfile.gateway"
  "fnoperator/runtime-shim:$TAG runtime-shim/Dockerfile"
)
MODE="${1:-run}"
WORK=""
PORT_FORWARD_PID=""

log() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'e2e-kind: %s\n' "$*" >&2; exit 1; }

# Runs a command, or only prints it in plan mode.
run() {
  if [ "$MODE" = plan ]; then
    printf '+ %s\n' "$*"
  else
    "$@"
  fi
}

require_tools() {
  local missing=()
  for tool in docker kind kubectl helm "$AWS_CLI" curl jq; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] || fail "missing tools: ${missing[*]}"
  "$AWS_CLI" --version 2>&1 | grep -q '^aws-cli/2' || fail "$AWS_CLI is not the AWS CLI v2 (set AWS_CLI)"
}

# The example's Function with its local-mode code.path replaced by the ConfigMap the script creates.
function_manifest() {
  grep -q '^    path: src$' "$EXAMPLE/function.yaml" || fail "$EXAMPLE/function.yaml no longer has 'code: path: src'"
  sed -e 's/^    path: src$/    configMap:\n      name: '"$FUNCTION"'-code/' "$EXAMPLE/function.yaml"
}

cleanup() {
  local status=$?
  if [ -n "$PORT_FORWARD_PID" ]; then
    kill "$PORT_FORWARD_PID" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ "$MODE" = run ]; then
    log "failed; state of the cluster"
    kubectl get pods -A -o wide || true
    kubectl -n "$SYSTEM_NS" logs deployment/"$RELEASE" --tail=100 || true
    kubectl -n "$SYSTEM_NS" logs deployment/"$RELEASE"-gateway --tail=100 || true
    kubectl -n "$FUNCTION_NS" describe function "$FUNCTION" || true
    kubectl -n "$FUNCTION_NS" logs deployment/"$FUNCTION"-latest --all-containers --tail=100 || true
  fi
  if [ "$KEEP_CLUSTER" = 1 ]; then
    log "keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
  else
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" || true
  fi
  [ -z "$WORK" ] || rm -rf "$WORK"
  exit "$status"
}

create_cluster() {
  log "creating kind cluster $CLUSTER"
  run kind create cluster --name "$CLUSTER" --wait 180s
}

build_and_load_images() {
  local entry image dockerfile
  for entry in "${IMAGES[@]}"; do
    image="${entry%% *}"
    dockerfile="${entry#* }"
    log "building $image"
    run docker build -f "$ROOT/$dockerfile" -t "$image" "$ROOT"
    run kind load docker-image "$image" --name "$CLUSTER"
  done
}

# Namespaces enforce Pod Security Standards "restricted": a pod of the chart or the operator that breaks it is refused.
create_namespace() {
  run kubectl create namespace "$1"
  run kubectl label namespace "$1" pod-security.kubernetes.io/enforce=restricted
}

install_chart() {
  log "installing the chart"
  create_namespace "$SYSTEM_NS"
  # The chart puts the function NetworkPolicy into this namespace, so it has to exist first.
  create_namespace "$FUNCTION_NS"
  run helm upgrade --install "$RELEASE" "$CHART" --namespace "$SYSTEM_NS" \
    --set imagePullPolicy=Never --set "networkPolicy.functionNamespaces={$FUNCTION_NS}" \
    --wait --timeout 5m
  run kubectl wait --for condition=Established --timeout 60s crd/functions.fnoperator.io
  # The chart's own test: the gateway is ready and answers an unknown function with Lambda's 404.
  run helm test "$RELEASE" --namespace "$SYSTEM_NS" --timeout 2m
}

apply_function() {
  log "applying $FUNCTION"
  run kubectl -n "$FUNCTION_NS" create configmap "$FUNCTION-code" --from-file="$EXAMPLE/src"
  if [ "$MODE" = plan ]; then
    printf '+ kubectl -n %s apply -f <(%s function-manifest)\n' "$FUNCTION_NS" "$0"
  else
    function_manifest | kubectl -n "$FUNCTION_NS" apply -f -
  fi
  run kubectl -n "$FUNCTION_NS" wait "function/$FUNCTION" --for condition=Ready --timeout 5m
}

# Invoke auth is required by default: an access key in a labelled Secret, and invoke granted in the function namespace.
create_access_key() {
  log "creating an access key for user e2e and granting it fnoperator-invoker in $FUNCTION_NS"
  run kubectl -n "$SYSTEM_NS" create secret generic e2e-access-key \
    --from-literal=accessKeyId="$E2E_KEY_ID" --from-literal=secretAccessKey="$E2E_SECRET"
  run kubectl -n "$SYSTEM_NS" label secret e2e-access-key fnoperator.io/access-key=true
  run kubectl -n "$SYSTEM_NS" annotate secret e2e-access-key fnoperator.io/username=e2e
  run kubectl -n "$FUNCTION_NS" create rolebinding e2e-invoker --clusterrole=fnoperator-invoker --user=e2e
}

port_forward() {
  log "port-forwarding the gateway to 127.0.0.1:$LOCAL_PORT"
  if [ "$MODE" = plan ]; then
    printf '+ kubectl -n %s port-forward service/fn-gateway %s:8080 &\n' "$SYSTEM_NS" "$LOCAL_PORT"
    return
  fi
  kubectl -n "$SYSTEM_NS" port-forward service/fn-gateway "$LOCAL_PORT:8080" >"$WORK/port-forward.log" 2>&1 &
  PORT_FORWARD_PID=$!
  local i
  for i in $(seq 1 60); do
    # Any HTTP answer (a 404 for the unknown path) means the tunnel is up.
    if curl -s -o /dev/null "http://127.0.0.1:$LOCAL_PORT/"; then
      return
    fi
    sleep 1
  done
  cat "$WORK/port-forward.log" >&2
  fail "the port-forward to the gateway did not come up (attempt $i)"
}

invoke() {
  log "invoking $FUNCTION_NS/$FUNCTION with the AWS CLI"
  local -a aws=(env AWS_ACCESS_KEY_ID="$E2E_KEY_ID" AWS_SECRET_ACCESS_KEY="$E2E_SECRET" AWS_REGION=us-east-1 AWS_PAGER=""
    "$AWS_CLI" lambda invoke --endpoint-url "http://127.0.0.1:$LOCAL_PORT" --function-name "$FUNCTION_NS/$FUNCTION"
    --cli-binary-format raw-in-base64-out)
  if [ "$MODE" = plan ]; then
    printf '+ %s\n' "${aws[*]} --payload {\"name\":\"kind\"} <out>"
    printf '+ %s\n' "${aws[*]} --invocation-type Event --payload {\"name\":\"async\"} <out>"
    return
  fi
  local meta
  meta="$("${aws[@]}" --payload '{"name":"kind"}' "$WORK/sync.json")"
  echo "$meta"
  cat "$WORK/sync.json"
  echo
  [ "$(jq -r '.StatusCode' <<<"$meta")" = 200 ] || fail "sync invoke: status is not 200"
  [ "$(jq -r '.FunctionError // ""' <<<"$meta")" = "" ] || fail "sync invoke: function error"
  [ "$(jq -r '.message' "$WORK/sync.json")" = "Hello, kind!" ] || fail "sync invoke: unexpected response"

  meta="$("${aws[@]}" --invocation-type Event --payload '{"name":"async"}' "$WORK/async.json")"
  echo "$meta"
  [ "$(jq -r '.StatusCode' <<<"$meta")" = 202 ] || fail "async invoke: status is not 202"
}

main() {
  case "$MODE" in
    function-manifest) function_manifest; return ;;
    plan) ;;
    run)
      require_tools
      WORK="$(mktemp -d)"
      trap cleanup EXIT
      ;;
    *) fail "unknown mode '$MODE' (run, plan, function-manifest)" ;;
  esac
  [ -n "$TAG" ] || fail "no appVersion in $CHART/Chart.yaml"
  create_cluster
  build_and_load_images
  install_chart
  apply_function
  create_access_key
  port_forward
  invoke
  if [ "$MODE" = plan ]; then
    printf '+ kind delete cluster --name %s\n' "$CLUSTER"
  else
    log "e2e-kind passed"
  fi
}

main
