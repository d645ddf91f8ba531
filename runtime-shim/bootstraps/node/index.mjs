// FnOperator's Node.js runtime bootstrap: a Lambda Runtime API client loop for `file.function` handlers
// (async/promise and callback styles, invoke.mjs), Lambda's console format (logging.mjs), errors in Lambda's shape.
// The Runtime API gone (the shim was killed) or a dead stdout ends the process: it never spins.
import path from "node:path";
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { errorDocument, runHandler } from "./invoke.mjs";
import { concurrency, exitQuietly, flushed, logError, patchConsole, runWithRequestId, setRequestId } from "./logging.mjs";
import { RuntimeApiClient } from "./runtime-api.mjs";
import { createResponseStream, installGlobals, isStreaming, runStreamingHandler } from "./streaming.mjs";

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001").split(":");
// With AWS_LAMBDA_MAX_CONCURRENCY = N > 1 the process runs N `next` loops (each holds a poll and posts its answers):
// one connection busy per loop (its answer and its next `GET next`, pipelined), so at most N connections are busy; as
// many idle ones are kept.
const api = new RuntimeApiClient(host, port, concurrency);
const base = "/2018-06-01/runtime";
const JSON_CONTENT = Object.freeze({ "Content-Type": "application/json" });
const NEXT_PATH = `${base}/invocation/next`;
let currentId;
const inFlight = new Set();

// A POST (response, error, init error) ends the function's part of the invocation: its output must have reached the
// shim first, so the shim attributes all of it to this invocation and loses none of it (Lambda's runtimes log
// synchronously).
// With `lane` (an invocation's answer in a `next` loop) the loop's next `GET next` goes out with the POST, pipelined in
// one write on the same connection (the loop asks for the next invocation right after the answer in any case, whatever
// the answer's status): `lane.next` is its answer, which the loop awaits instead of sending its own `GET next`.
function request(method, urlPath, body, headers, lane) {
  if (method === "POST") {
    const pending = flushed();
    if (pending) return pending.then(() => send(method, urlPath, body, headers, lane));
  }
  return send(method, urlPath, body, headers, lane);
}

function send(method, urlPath, body, headers, lane) {
  if (lane && concurrency > 1) {
    // With concurrency the lane awaits only the pipelined `GET next`: the POST's answer is read and dropped (its
    // status was never looked at) and a failed connection rejects the `GET next` too. One promise less per
    // invocation, and each promise costs AsyncLocalStorage's hooks (the invocation is over once its answer is written:
    // the loop's only other use of the 202 was to order the single-invocation loop's request-id reset, kept below).
    lane.next = api.pipeline([[method, urlPath, body, headers], ["GET", NEXT_PATH]], 1)[1];
    return undefined;
  }
  if (lane) {
    const [posted, next] = api.pipeline([[method, urlPath, body, headers], ["GET", NEXT_PATH]]);
    next.catch(ignore); // a failed connection rejects the POST too, which is what the loop sees first
    lane.next = next;
    return posted;
  }
  return api.request(method, urlPath, body, headers);
}

function ignore() {}

async function postError(urlPath, doc, lane) {
  const body = JSON.stringify(doc);
  await request("POST", urlPath, body, {
    "Content-Type": "application/json",
    "Lambda-Runtime-Function-Error-Type": doc.errorType,
  }, lane);
}

/** The lane's next invocation: the `GET next` pipelined with its last answer, else a new one. */
function nextInvocation(lane) {
  const next = lane.next;
  lane.next = null;
  return next ?? request("GET", NEXT_PATH);
}

async function loadHandler() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT || "/var/task";
  const spec = process.env._HANDLER || "";
  const dot = spec.lastIndexOf(".");
  if (dot <= 0) {
    throw Object.assign(new Error(`Bad handler ${spec}: expected file.function`), { name: "Runtime.MalformedHandlerName" });
  }
  const modulePath = spec.slice(0, dot);
  const fnPath = spec.slice(dot + 1);
  const stem = path.resolve(taskRoot, modulePath);
  const file = ["", ".js", ".mjs", ".cjs"].map((ext) => stem + ext).find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (!file) {
    throw Object.assign(new Error(`Error: Cannot find module '${modulePath}'`), { name: "Runtime.ImportModuleError" });
  }
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw Object.assign(new Error(`${e.name}: ${e.message}`), { name: "Runtime.UserCodeSyntaxError", stack: e.stack });
    }
    throw e;
  }
  let handler = fnPath.split(".").reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (handler === undefined && mod.default) {
    handler = fnPath.split(".").reduce((o, k) => (o == null ? undefined : o[k]), mod.default);
  }
  if (typeof handler !== "function") {
    throw Object.assign(new Error(`${modulePath}.${fnPath} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  }
  return handler;
}

// One invocation, from its `GET next` answer to its POST (one async function: each one more is a promise, an await
// and, with concurrency, AsyncLocalStorage's promise hooks per invocation).
async function invoke(handler, res, lane) {
  const h = res.headers;
  const id = h["lambda-runtime-aws-request-id"];
  currentId = id;
  setRequestId(id);
  if (concurrency > 1) inFlight.add(id);
  try {
    const deadline = Number(h["lambda-runtime-deadline-ms"]);
    const traceId = h["lambda-runtime-trace-id"];
    // One invocation at a time: the trace id in the environment, as Lambda's runtime sets it. With concurrency there is
    // no per-invocation environment: as aws-lambda-ric 4 in its multi-concurrent mode, the variable is not set (it would
    // hold whichever invocation started last, and each write is a setenv whose unique value glibc never frees) and the
    // context carries the invocation's own trace id (xRayTraceId, as the ric's context does).
    if (traceId && concurrency === 1) process.env._X_AMZN_TRACE_ID = traceId;
    const context = {
      awsRequestId: id,
      invokedFunctionArn: h["lambda-runtime-invoked-function-arn"],
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: h["lambda-runtime-client-context"] ? JSON.parse(h["lambda-runtime-client-context"]) : undefined,
      identity: h["lambda-runtime-cognito-identity"] ? JSON.parse(h["lambda-runtime-cognito-identity"]) : undefined,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    if (concurrency > 1) context.xRayTraceId = traceId;
    let event;
    try {
      event = res.body.length ? JSON.parse(res.body.utf8Slice(0, res.body.length)) : {};
    } catch (e) {
      await postError(`${base}/invocation/${id}/error`, { errorType: "Runtime.UnmarshalError", errorMessage: `Unable to parse event: ${e.message}`, trace: [] }, lane);
      return;
    }
    if (isStreaming(handler)) {
      await invokeStreaming(handler, event, context, id, lane);
      return;
    }
    const outcome = await runHandler(handler, event, context, concurrency > 1);
    if ("error" in outcome) {
      const doc = errorDocument(outcome.error, "Error");
      logError("Invoke Error", doc, outcome.error);
      await postError(`${base}/invocation/${id}/error`, doc, lane);
      return;
    }
    let body;
    try {
      body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
    } catch {
      // As Lambda's runtime reports a result JSON.stringify rejects (a cycle, a BigInt).
      const err = new Error("Unable to stringify response body");
      const doc = errorDocument(err, "Error");
      logError("Invoke Error", doc, err);
      await postError(`${base}/invocation/${id}/error`, doc, lane);
      return;
    }
    const posted = request("POST", `${base}/invocation/${id}/response`, body, JSON_CONTENT, lane);
    if (posted !== undefined) await posted;
  } finally {
    inFlight.delete(id);
  }
}

// A handler wrapped in awslambda.streamifyResponse: its responseStream is the Runtime API's streaming response.
async function invokeStreaming(handler, event, context, id, lane) {
  const highWaterMark = handler[Symbol.for("aws.lambda.runtime.handler.streaming.highWaterMark")];
  const response = createResponseStream({ host, port, path: `${base}/invocation/${id}/response`, highWaterMark });
  const outcome = await runStreamingHandler(handler, event, context, response);
  if ("error" in outcome) {
    const doc = errorDocument(outcome.error, "Error");
    logError("Invoke Error", doc, outcome.error);
    await flushed();
    if (response.stream.writableFinished) {
      await response.answered();
      await postError(`${base}/invocation/${id}/error`, doc, lane);
      return;
    }
    await response.fail(doc);
    await response.answered();
    return;
  }
  await response.done();
}

// The shim is the runtime's parent: when it is gone (killed with SIGKILL, say) the runtime is re-parented, and no
// one is left to serve it or to read its output, so it ends itself, even mid-invocation. (A CPU-bound handler that
// never yields is not stopped by this; the shim's process-group kill covers that.)
function watchParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) exitQuietly(1);
  }, 500).unref();
}

async function main() {
  patchConsole();
  installGlobals();
  watchParent();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const doc = errorDocument(err, "Runtime.InitError");
    logError("Init Error", doc, err);
    await postError(`${base}/init/error`, doc).catch(() => {});
    exitQuietly(1);
    return;
  }
  // An uncaught exception or rejection fails the invocation and ends the runtime. Once only: a failure while
  // reporting (for example a write to a dead pipe) must not start another report.
  let failing = false;
  const fatal = (err, type, code) => {
    if (failing) return;
    failing = true;
    const doc = errorDocument(err, type);
    if (err instanceof Error && !err.name.startsWith("Runtime.")) doc.errorType = type;
    try {
      logError(type, doc, err);
    } catch {
      // nowhere to log to
    }
    // With concurrency the process ends every invocation it runs: each one gets the error.
    const ids = concurrency > 1 ? [...inFlight] : currentId ? [currentId] : [];
    const post = Promise.all(ids.map((id) => postError(`${base}/invocation/${id}/error`, doc)));
    const timer = setTimeout(() => exitQuietly(code), 2000);
    post.catch(() => {}).finally(() => {
      clearTimeout(timer);
      exitQuietly(code);
    });
  };
  process.on("uncaughtException", (err) => fatal(err, "Runtime.UncaughtException", 129));
  process.on("unhandledRejection", (err) => fatal(err, "Runtime.UnhandledPromiseRejection", 128));
  if (concurrency > 1) {
    // N loops interleave in this process; a console call logs the request id of its own invocation (AsyncLocalStorage).
    const lane = async () => {
      const state = { next: null };
      for (;;) {
        const res = await nextInvocation(state);
        if (res.status !== 200) {
          throw new Error(`Runtime API answered ${res.status} to next`);
        }
        await runWithRequestId(res.headers["lambda-runtime-aws-request-id"], () => invoke(handler, res, state));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return;
  }
  const lane = { next: null };
  for (;;) {
    currentId = undefined;
    setRequestId(undefined);
    const res = await nextInvocation(lane);
    if (res.status !== 200) {
      throw new Error(`Runtime API answered ${res.status} to next`);
    }
    await invoke(handler, res, lane);
  }
}

// The Runtime API failed (refused, reset: the shim is gone) or answered nonsense: nothing more can be served.
main().catch((err) => {
  try {
    console.error("Runtime failure", err);
  } finally {
    exitQuietly(1);
  }
});
