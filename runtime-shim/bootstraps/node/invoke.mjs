// One invocation with the completion rules of Lambda's Node.js runtime (aws-lambda-nodejs-runtime-interface-client):
// - a returned promise answers as soon as it settles (pending timers etc. keep running afterwards);
// - callback(err) answers at once; callback(null, result) answers when the event loop is empty, or at once when
//   context.callbackWaitsForEmptyEventLoop is false (the leftover work then runs on while the runtime waits for the
//   next invocation; Lambda would freeze it, here it is not frozen);
// - context.done/succeed/fail answer at once; only the first completion counts;
// - the event loop empties without any completion: a non-async handler answers null, an `async function` fails with
//   Runtime.NodeJsExit (the promise was never settled).
import { types } from "node:util";

const NODE_JS_EXIT_MESSAGE =
  "The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that " +
  "was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes";

// The one action to run when the event loop empties during an invocation (Node's 'beforeExit').
let onEmptyEventLoop = null;
process.on("beforeExit", () => {
  const action = onEmptyEventLoop;
  onEmptyEventLoop = null;
  if (action) action();
});

/**
 * Runs the handler; resolves to {result} or {error} by the rules above. With `concurrent` (AWS_LAMBDA_MAX_CONCURRENCY > 1)
 * the event loop never empties while other invocations wait on the Runtime API, so the empty-event-loop rules do not
 * apply: callback(null, result) answers at once (as with callbackWaitsForEmptyEventLoop = false), and a handler that never
 * completes runs into its timeout.
 */
export function runHandler(handler, event, context, concurrent = false) {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (outcome) => {
      onEmptyEventLoop = null;
      if (finished) return;
      finished = true;
      resolve(outcome);
    };
    let waitForEmptyEventLoop = true;
    Object.defineProperty(context, "callbackWaitsForEmptyEventLoop", {
      get: () => waitForEmptyEventLoop,
      set: (value) => {
        waitForEmptyEventLoop = value;
      },
      enumerable: true,
    });
    // Only the first of callback/done/succeed/fail (or the returned promise, which goes through succeed/fail) counts.
    let called = false;
    const done = (err, result) => (err !== undefined && err !== null ? finish({ error: err }) : finish({ result }));
    context.done = (err, result) => {
      if (called) return;
      called = true;
      done(err, result);
    };
    context.succeed = (result) => {
      if (called) return;
      called = true;
      done(null, result);
    };
    context.fail = (err) => {
      if (called) return;
      called = true;
      done(err ?? "handled");
    };
    const callback = (err, result) => {
      if (called) return;
      called = true;
      if (err !== undefined && err !== null) {
        finish({ error: err });
      } else if (!waitForEmptyEventLoop || concurrent) {
        finish({ result });
      } else {
        onEmptyEventLoop = () => setImmediate(() => finish({ result }));
      }
    };
    if (concurrent) {
      // no empty-event-loop completion: see above
    } else onEmptyEventLoop = types.isAsyncFunction(handler)
      ? () => finish({ error: Object.assign(new Error(NODE_JS_EXIT_MESSAGE), { name: "Runtime.NodeJsExit" }) })
      : () => finish({ result: null });
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (e) {
      callback(e);
      return;
    }
    if (returned && typeof returned.then === "function") {
      returned.then(context.succeed, (e) => context.fail(e ?? new Error("Promise rejected")));
    }
  });
}

export function errorDocument(err, fallbackType) {
  if (types.isNativeError(err) || err instanceof Error) {
    return { errorType: err.name || fallbackType, errorMessage: err.message, trace: String(err.stack || "").split("\n") };
  }
  if (err === undefined || err === null) return { errorType: fallbackType, errorMessage: String(err), trace: [] };
  return { errorType: typeof err, errorMessage: typeof err === "object" ? JSON.stringify(err) : String(err), trace: [] };
}
