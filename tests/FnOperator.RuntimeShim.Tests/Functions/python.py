"""Handler for FnOperator's own Python bootstrap."""
import os
import time

count = 0


class ValidationError(Exception):
    pass


def handler(event, context):
    global count
    count += 1
    action = event.get("action")
    if action == "ok":
        print("hello-from-handler", event.get("value"))
        return {"ok": True, "value": event.get("value"), "count": count, "requestId": context.aws_request_id,
                "arn": context.invoked_function_arn, "hasTime": context.get_remaining_time_in_millis() > 0}
    if action == "handled":
        raise ValidationError("handled failure")
    if action == "unhandled":
        return None.boom
    if action == "sleep":
        time.sleep(600)
        return "late"
    if action == "exit":
        os._exit(1)
    if action == "big":
        return "x" * (7 * 1024 * 1024)
    raise ValueError(f"unknown action {action}")
