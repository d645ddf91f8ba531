"""FnOperator's Python runtime bootstrap: a Lambda Runtime API client loop for `module.function` handlers
(plain functions and coroutines), reporting errors in Lambda's shape, with Lambda's root logging handler
(fnop_logging.py). The Runtime API gone (the shim was killed) or a dead stdout ends the process: it never spins."""
import asyncio
import http.client
import importlib
import inspect
import json
import os
import sys
import threading
import time
import traceback

import fnop_logging  # the bootstrap's own module, next to this file (the script's folder is sys.path[0])

API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
BASE = "/2018-06-01/runtime"


class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection(API)

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                res = self.conn.getresponse()
                return res.status, res.headers, res.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(API)
                if attempt == 1:
                    raise

    def post_error(self, path, doc):
        body = json.dumps(doc).encode()
        self.request("POST", path, body, {"Content-Type": "application/json",
                                          "Lambda-Runtime-Function-Error-Type": doc["errorType"]})


_OWN_FILES = (os.path.abspath(__file__),)
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep


def user_frames(tb):
    """The traceback from the first frame that is not this bootstrap's (nor asyncio's, for coroutines): Lambda's
    stackTrace shows the user's frames only."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        filename = os.path.abspath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if filename not in _OWN_FILES and not filename.startswith(_ASYNCIO_DIR):
            return frames[i:]
    return frames[len(frames):]


def error_document(exc, error_type=None):
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(user_frames(exc.__traceback__)),
    }


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        cc = headers.get("Lambda-Runtime-Client-Context")
        ci = headers.get("Lambda-Runtime-Cognito-Identity")
        self.client_context = json.loads(cc) if cc else None
        self.identity = json.loads(ci) if ci else None
        self._deadline = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline - int(time.time() * 1000))


class InitError(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type


def load_handler():
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    for entry in (task_root, "/opt/python"):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    spec = os.environ.get("_HANDLER", "")
    module_path, _, function_name = spec.rpartition(".")
    if not module_path or not function_name:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': expected module.function")
    module_name = module_path.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}")
    except SyntaxError as e:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}")
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def invoke(client, handler, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    fnop_logging.set_request_id(request_id)
    if headers.get("Lambda-Runtime-Trace-Id"):
        os.environ["_X_AMZN_TRACE_ID"] = headers.get("Lambda-Runtime-Trace-Id")
    try:
        event = json.loads(body) if body else {}
    except ValueError as e:
        client.post_error(f"{BASE}/invocation/{request_id}/error",
                          {"errorMessage": f"Unable to unmarshal input: {e}", "errorType": "Runtime.UnmarshalError",
                           "requestId": request_id, "stackTrace": []})
        return
    try:
        result = handler(event, Context(headers))
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
    except Exception as e:  # noqa: BLE001 - every handler failure is reported to Lambda
        doc = error_document(e)
        doc["requestId"] = request_id
        fnop_logging.log_error(doc)
        client.post_error(f"{BASE}/invocation/{request_id}/error", doc)
        return
    try:
        payload = json.dumps(result).encode()
    except (TypeError, ValueError) as e:
        doc = {"errorMessage": f"Unable to marshal response: {e}", "errorType": "Runtime.MarshalError",
               "requestId": request_id, "stackTrace": []}
        fnop_logging.log_error(doc)
        client.post_error(f"{BASE}/invocation/{request_id}/error", doc)
        return
    client.request("POST", f"{BASE}/invocation/{request_id}/response", payload, {"Content-Type": "application/json"})


async def _await(awaitable):
    return await awaitable


def watch_parent():
    """The shim is the runtime's parent: when it is gone (killed with SIGKILL, say) the runtime is re-parented and
    no one is left to serve it or to read its output, so it ends itself, even mid-invocation."""
    parent = os.getppid()

    def watch():
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                fnop_logging.exit_quietly(1)

    threading.Thread(target=watch, name="fnop-parent-watch", daemon=True).start()


def serve():
    fnop_logging.install()
    watch_parent()
    client = Client()
    try:
        handler = load_handler()
    except InitError as e:
        doc = {"errorMessage": str(e), "errorType": e.error_type, "requestId": "", "stackTrace": []}
        fnop_logging.log_error(doc)
        client.post_error(f"{BASE}/init/error", doc)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - module-level failures are init errors
        doc = error_document(e)
        fnop_logging.log_error(doc)
        client.post_error(f"{BASE}/init/error", doc)
        sys.exit(1)
    while True:
        fnop_logging.set_request_id(None)
        status, headers, body = client.request("GET", f"{BASE}/invocation/next")
        if status != 200:
            raise SystemExit(f"Runtime API answered {status} to next")
        invoke(client, handler, headers, body)


def main():
    try:
        serve()
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        # The Runtime API is gone (the shim was killed) or stdout is dead: nothing more can be served or said.
        fnop_logging.exit_quietly(1, f"Runtime API unreachable: {e}")


if __name__ == "__main__":
    main()
