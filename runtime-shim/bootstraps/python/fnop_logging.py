"""Logging as Lambda's Python runtime sets it up: a handler on the root logger that writes
`[LEVEL]\\t<UTC timestamp>Z\\t<request id>\\t<message>` (or, with AWS_LAMBDA_LOG_FORMAT=JSON, one JSON object a line
with timestamp, level, message, logger, requestId and, for exceptions, errorType/errorMessage/stackTrace/location);
AWS_LAMBDA_LOG_LEVEL sets the root logger's level. stdout and stderr are unbuffered; a write to a dead pipe (the shim
is gone) ends the process at once instead of raising into user code that might log the failure again."""
import errno
import json
import logging
import os
import sys
import time
from datetime import datetime, timezone

_FORMAT_JSON = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
_LEVEL = {"TRACE": "DEBUG"}.get((os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper(),
                                 (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper())
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_NO_BREAK_SPACE = "\u00a0"
_request_id = None
# LogRecord attributes that are not user-supplied `extra` fields.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "aws_request_id"}


def set_request_id(request_id):
    global _request_id
    _request_id = request_id


def exit_quietly(code, _reason=None):
    """Ends the runtime without another write: its output has nowhere to go."""
    os._exit(code)


class _PipeGuard:
    """Wraps stdout/stderr: writes are flushed at once; a broken pipe ends the process."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            n = self._stream.write(text)
            self._stream.flush()
            return n
        except OSError as e:
            if isinstance(e, BrokenPipeError) or e.errno in (errno.EPIPE, errno.EBADF):
                exit_quietly(141)
            raise

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record):
        levelno = min(50, max(0, record.levelno)) // 10 * 10
        created = datetime.fromtimestamp(record.created, tz=timezone.utc)
        entry = {
            "timestamp": created.strftime(_TIME_FORMAT + ".%f")[:-3] + "Z",
            "level": logging.getLevelName(levelno),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None),
        }
        if record.exc_info:
            import traceback
            entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            entry["errorType"] = record.exc_info[0].__name__
            entry["errorMessage"] = str(record.exc_info[1])
            entry["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        return json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False, default=str) + "\n"


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            message = self.format(record)
        except Exception:  # noqa: BLE001 - a bad format string must not break the handler
            self.handleError(record)
            return
        # A record with exception text does not end in a newline; the next line must not be glued to it.
        sys.stdout.write(message if message.endswith("\n") else message + "\n")


def install():
    sys.stdout = _PipeGuard(sys.stdout)
    sys.stderr = _PipeGuard(sys.stderr)
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    if _FORMAT_JSON:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", _TIME_FORMAT))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    if isinstance(logging.getLevelName(_LEVEL), int):
        root.setLevel(_LEVEL)
    root.addHandler(handler)


def log_error(doc):
    """A function or init error, printed as Lambda prints it: text `[ERROR] Type: message` with the traceback
    joined by \\r (one log record), or a JSON object with level ERROR."""
    if _FORMAT_JSON:
        entry = {"timestamp": time.strftime(_TIME_FORMAT, time.gmtime()), "level": "ERROR", **doc}
        sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return
    description = "[ERROR]"
    if doc.get("errorType"):
        description += " " + doc["errorType"]
    if doc.get("errorMessage"):
        description += (":" if doc.get("errorType") else "") + " " + doc["errorMessage"]
    lines = [description]
    if doc.get("stackTrace") is not None:
        lines.append("Traceback (most recent call last):")
        for element in doc["stackTrace"]:
            for line in element.splitlines() or [""]:
                stripped = line.lstrip(" ")
                lines.append(_NO_BREAK_SPACE * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")
