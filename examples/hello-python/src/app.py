"""An unmodified Lambda handler for the python3.12 runtime."""
import os
import time


def handler(event, context):
    event = event if isinstance(event, dict) else {}
    name = event.get("name", "world")
    print(f"greeting {name} in request {context.aws_request_id}")
    if event.get("fail"):
        raise ValueError(f"asked to fail: {event['fail']}")
    if event.get("sleepMs"):
        time.sleep(event["sleepMs"] / 1000)
    return {
        "message": f"{os.environ.get('GREETING', 'Hello')}, {name}!",
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "memoryLimitInMB": int(context.memory_limit_in_mb),
    }
