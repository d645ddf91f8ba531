#!/bin/bash
# A custom runtime in the style of AWS's tutorial: bash + curl against the Runtime API.
set -euo pipefail
source "$LAMBDA_TASK_ROOT/$(echo "$_HANDLER" | cut -d. -f1).sh"
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
COUNT=0
while true; do
  HEADERS="$(mktemp)"
  OUT="$(mktemp)"
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  COUNT=$((COUNT + 1))
  set +e
  "$(echo "$_HANDLER" | cut -d. -f2)" "$EVENT_DATA" "$COUNT" > "$OUT"
  STATUS=$?
  set -e
  if [ "$STATUS" -eq 0 ]; then
    curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/response" --data-binary "@$OUT"
  elif [ "$STATUS" -eq 2 ]; then
    # The handler returned an error document itself.
    curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/error" --data-binary "@$OUT"
  else
    curl -sS -o /dev/null -X POST "$API/invocation/$REQUEST_ID/error" -H "Lambda-Runtime-Function-Error-Type: Unhandled" \
      -d "{\"errorMessage\":\"handler failed with status $STATUS\",\"errorType\":\"HandlerError\"}"
  fi
  rm -f "$HEADERS" "$OUT"
done
