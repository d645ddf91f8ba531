# The bash function's handler: $1 is the event, $2 the runtime's invocation count.
handler() {
  local action
  action=$(echo "$1" | jq -r .action)
  case "$action" in
    ok)
      echo "hello-from-handler $(echo "$1" | jq -c .value)" >&2
      echo "{\"ok\":true,\"value\":$(echo "$1" | jq -c .value),\"count\":$2}"
      ;;
    handled)
      echo '{"errorMessage":"handled failure","errorType":"ValidationError"}'
      return 2
      ;;
    unhandled)
      return 1
      ;;
    sleep)
      sleep 600 &
      echo $! > "$LAMBDA_TASK_ROOT/sleep.pid"
      wait $!
      ;;
    exit)
      kill -KILL $$
      ;;
    big)
      printf '"'
      head -c 7340032 /dev/zero | tr '\0' x
      printf '"'
      ;;
    *)
      return 1
      ;;
  esac
}
