# The function's whole code: a handler for the bash runtime in the bash-runtime layer. $1 is the event JSON, $2 the
# request id; it prints the response ($0 is the layer's bootstrap that sourced this file).
handler() {
  local event="$1" request_id="$2"
  jq -c --arg id "$request_id" --arg bootstrap "$0" \
    '{message: ("Hello from a layer runtime, " + (.name // "world") + "!"), bootstrap: $bootstrap, requestId: $id}' <<<"$event"
}
