# The handler: $1 is the event JSON, $2 the request id. Prints the response; a non-zero status is a function error.
handler() {
  local event="$1" request_id="$2"
  echo "greeting $(jq -r '.name // "world"' <<<"$event") in request $request_id" >&2
  if [ "$(jq -r '.fail // empty' <<<"$event")" != "" ]; then
    echo "asked to fail" >&2
    return 1
  fi
  jq -c --arg id "$request_id" '{message: ("Howdy, " + (.name // "world") + "!"), requestId: $id}' <<<"$event"
}
