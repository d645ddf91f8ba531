// Handler for FnOperator's own Node.js bootstrap: callback style, plus the Lambda context.
let count = 0;

export function handler(event, context, callback) {
  count++;
  switch (event.action) {
    case "ok":
      console.log("hello-from-handler", event.value);
      callback(null, {
        ok: true,
        value: event.value,
        count,
        requestId: context.awsRequestId,
        arn: context.invokedFunctionArn,
        hasTime: context.getRemainingTimeInMillis() > 0,
        clientContext: context.clientContext ?? null,
        trace: process.env._X_AMZN_TRACE_ID ?? null,
        functionName: context.functionName,
        memory: context.memoryLimitInMB,
      });
      break;
    case "handled":
      callback(Object.assign(new Error("handled failure"), { name: "ValidationError" }));
      break;
    case "unhandled":
      null.boom;
      break;
    case "sleep":
      setTimeout(() => callback(null, "late"), 600000);
      break;
    case "exit":
      process.exit(1);
      break;
    case "slow":
      setTimeout(() => callback(null, { slow: true }), event.value);
      break;
    case "big":
      callback(null, "x".repeat(7 * 1024 * 1024));
      break;
    default:
      callback(new Error(`unknown action ${event.action}`));
  }
}
