// FnOperator's Node.js runtime bootstrap: a Lambda Runtime API client loop for `file.function` handlers
// (async/promise, callback and plain synchronous return styles), reporting errors in Lambda's shape.
import http from "node:http";
import path from "node:path";
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { format } from "node:util";

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API || "127.0.0.1:9001").split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime";
let currentId;

function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function errorDocument(err, fallbackType) {
  if (err instanceof Error) {
    return { errorType: err.name || fallbackType, errorMessage: err.message, trace: String(err.stack || "").split("\n") };
  }
  return { errorType: fallbackType, errorMessage: typeof err === "string" ? err : JSON.stringify(err), trace: [] };
}

async function postError(urlPath, doc) {
  const body = JSON.stringify(doc);
  await request("POST", urlPath, body, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "Lambda-Runtime-Function-Error-Type": doc.errorType,
  });
}

function patchConsole() {
  for (const [name, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"], ["debug", "DEBUG"], ["trace", "TRACE"]]) {
    const stream = level === "ERROR" || level === "WARN" ? process.stderr : process.stdout;
    console[name] = (...args) => {
      const line = `${new Date().toISOString()}\t${currentId ?? "undefined"}\t${level}\t${format(...args)}`;
      stream.write(line.replace(/\n/g, "\r") + "\n");
    };
  }
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

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(result);
    };
    context.done = done;
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err ?? new Error("handled"));
    let returned;
    try {
      returned = handler.length >= 3 ? handler(event, context, done) : handler(event, context);
    } catch (e) {
      done(e);
      return;
    }
    if (returned && typeof returned.then === "function") {
      returned.then((r) => done(null, r), (e) => done(e ?? new Error("Promise rejected")));
    } else if (handler.length < 3) {
      done(null, returned);
    }
  });
}

async function invoke(handler, res) {
  const h = res.headers;
  const id = h["lambda-runtime-aws-request-id"];
  currentId = id;
  const deadline = Number(h["lambda-runtime-deadline-ms"]);
  if (h["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = h["lambda-runtime-trace-id"];
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
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let event;
  try {
    event = res.body.length ? JSON.parse(res.body.toString("utf8")) : {};
  } catch (e) {
    await postError(`${base}/invocation/${id}/error`, { errorType: "Runtime.UnmarshalError", errorMessage: `Unable to parse event: ${e.message}`, trace: [] });
    return;
  }
  try {
    const result = await runHandler(handler, event, context);
    const body = JSON.stringify(result === undefined ? null : result);
    await request("POST", `${base}/invocation/${id}/response`, body, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
  } catch (err) {
    const doc = errorDocument(err, "Error");
    console.error("Invoke Error", JSON.stringify(doc));
    await postError(`${base}/invocation/${id}/error`, doc);
  }
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    const doc = errorDocument(err, "Runtime.InitError");
    console.error("Init Error", JSON.stringify(doc));
    await postError(`${base}/init/error`, doc);
    process.exit(1);
  }
  const fatal = async (err, type) => {
    const doc = errorDocument(err, type);
    if (err instanceof Error && !err.name.startsWith("Runtime.")) doc.errorType = type;
    console.error(type, JSON.stringify(doc));
    if (currentId) await postError(`${base}/invocation/${currentId}/error`, doc).catch(() => {});
    process.exit(128);
  };
  process.on("uncaughtException", (err) => fatal(err, "Runtime.UncaughtException"));
  process.on("unhandledRejection", (err) => fatal(err, "Runtime.UnhandledPromiseRejection"));
  for (;;) {
    currentId = undefined;
    const res = await request("GET", `${base}/invocation/next`);
    if (res.status !== 200) {
      throw new Error(`Runtime API answered ${res.status} to next`);
    }
    await invoke(handler, res);
  }
}

main().catch((err) => {
  console.error("Runtime failure", err);
  process.exit(1);
});
