// Console patching as Lambda's Node.js runtime does it: every console method writes one line to stdout, in the text
// format `timestamp\trequestId\tLEVEL\tmessage` (newlines inside a message become \r) or, with
// AWS_LAMBDA_LOG_FORMAT=JSON, one JSON object {timestamp, level, requestId, message[, errorType, errorMessage,
// stackTrace]}. AWS_LAMBDA_LOG_LEVEL (TRACE..FATAL) drops the methods below it. A dead stdout/stderr (EPIPE: the shim
// is gone) ends the process at once instead of turning every failed write into another error to log.
import { format } from "node:util";
import { AsyncLocalStorage } from "node:async_hooks";

const levels = Object.freeze({
  TRACE: { name: "TRACE", priority: 1 },
  DEBUG: { name: "DEBUG", priority: 2 },
  INFO: { name: "INFO", priority: 3 },
  WARN: { name: "WARN", priority: 4 },
  ERROR: { name: "ERROR", priority: 5 },
  FATAL: { name: "FATAL", priority: 6 },
});

const REQUEST_ID = Symbol.for("aws.lambda.runtime.requestId");

export const jsonFormat = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";

// AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed Instances' multi-concurrency, docs/concurrency.md): several invocations
// interleave in this process, so the request id of a console call is the one of the async context it runs in
// (AsyncLocalStorage), and the global symbol Lambda's runtime sets reads that context too.
export const concurrency = Math.min(64, Math.max(1, Number.parseInt(process.env.AWS_LAMBDA_MAX_CONCURRENCY || "1", 10) || 1));
const requestStore = concurrency > 1 ? new AsyncLocalStorage() : null;
if (requestStore) {
  Object.defineProperty(globalThis, REQUEST_ID, { get: () => requestStore.getStore(), set: () => {}, configurable: true });
}

export function setRequestId(id) {
  if (!requestStore) globalThis[REQUEST_ID] = id;
}

/** Runs fn with id as the request id of everything it logs (concurrency), or sets the one global request id. */
export function runWithRequestId(id, fn) {
  if (requestStore) return requestStore.run(id, fn);
  setRequestId(id);
  return fn();
}

function currentRequestId() {
  return requestStore ? requestStore.getStore() : globalThis[REQUEST_ID];
}

function errorFields(err) {
  return {
    errorType: err?.constructor?.name ?? "UnknownError",
    errorMessage: err.message,
    stackTrace: typeof err.stack === "string" ? err.stack.split("\n") : err.stack,
  };
}

function jsonReplacer(_key, value) {
  return value instanceof Error ? Object.assign(errorFields(value), value) : value;
}

function jsonLine(level, params) {
  const entry = { timestamp: new Date().toISOString(), level: level.name, requestId: currentRequestId() };
  if (params.length === 1) {
    entry.message = params[0];
    try {
      return JSON.stringify(entry, jsonReplacer);
    } catch {
      entry.message = format(params[0]);
      return JSON.stringify(entry);
    }
  }
  entry.message = format(...params);
  const err = params.find((p) => p instanceof Error);
  if (err) Object.assign(entry, errorFields(err), { stackTrace: typeof err.stack === "string" ? err.stack.split("\n") : [] });
  return JSON.stringify(entry);
}

function textLine(level, params) {
  return `${new Date().toISOString()}\t${currentRequestId()}\t${level.name}\t${format(...params)}`;
}

let exiting = false;

/** Ends the runtime without writing anything more: its output has nowhere to go. */
export function exitQuietly(code) {
  if (exiting) return;
  exiting = true;
  process.exit(code);
}

/**
 * Resolves once stdout and stderr have handed everything written so far to their pipes. Node.js writes a pipe
 * asynchronously: what a full pipe does not take waits in the process (megabytes, after a burst of logging), and
 * process.exit or a Runtime API call made before it drains would lose it or let it outlive its invocation. The empty
 * write's callback runs after every earlier write has been flushed; a dead stream ends the wait (and the process).
 * Null when nothing is buffered (the common case: awaiting null costs no promise).
 */
export function flushed() {
  const out = process.stdout;
  const err = process.stderr;
  if ((out.writableLength === 0 || out.destroyed) && (err.writableLength === 0 || err.destroyed)) return null; // nothing waits: no promise, no tick
  const streams = [out, err].filter((s) => s.writableLength > 0 && !s.destroyed);
  return Promise.all(
    streams.map(
      (s) =>
        new Promise((resolve) => {
          s.once("close", resolve);
          s.write("", () => {
            s.off("close", resolve);
            resolve();
          });
        }),
    ),
  );
}

function guardStream(stream) {
  stream.on("error", () => exitQuietly(141)); // 128 + SIGPIPE, as a shell reports a broken pipe
}

function write(line) {
  if (exiting) return;
  try {
    process.stdout.write(line.replace(/\n/g, "\r") + "\n");
  } catch {
    exitQuietly(141);
  }
}

export function patchConsole() {
  guardStream(process.stdout);
  guardStream(process.stderr);
  const minimum = levels[(process.env.AWS_LAMBDA_LOG_LEVEL || "").toUpperCase()] ?? levels.TRACE;
  const make = (level) =>
    level.priority >= minimum.priority ? (...params) => write(jsonFormat ? jsonLine(level, params) : textLine(level, params)) : () => {};
  console.trace = make(levels.TRACE);
  console.debug = make(levels.DEBUG);
  console.info = make(levels.INFO);
  console.log = console.info;
  console.warn = make(levels.WARN);
  console.error = make(levels.ERROR);
  console.fatal = make(levels.FATAL);
}

/** Logs a failure the way Lambda's runtime does: text `Invoke Error \t{json}`; JSON format: the error as the message. */
export function logError(label, doc, err) {
  if (jsonFormat) {
    console.error(err instanceof Error ? err : Object.assign(new Error(doc.errorMessage), { name: doc.errorType }));
  } else {
    console.error(label, "\t" + JSON.stringify(doc));
  }
}
