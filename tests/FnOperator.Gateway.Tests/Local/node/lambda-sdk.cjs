// Drives the AWS SDK for JavaScript v3 Lambda client against an endpoint, as an application would.
// stdin: {"endpoint": "...", "calls": [{"functionName", "invocationType"?, "logType"?, "payload"? (any JSON),
//          "payloadBytes"? (send a JSON string of about this many bytes instead)}]}
// All calls run concurrently; stdout: a JSON array with one result per call, in order.
const { LambdaClient, InvokeCommand } = require("@aws-sdk/client-lambda");

function payloadOf(call) {
  if (call.payloadBytes) {
    return Buffer.from(JSON.stringify("x".repeat(Math.max(0, call.payloadBytes - 2))));
  }
  return Buffer.from(JSON.stringify(call.payload === undefined ? {} : call.payload));
}

async function invoke(client, call) {
  try {
    const out = await client.send(new InvokeCommand({
      FunctionName: call.functionName,
      InvocationType: call.invocationType,
      LogType: call.logType,
      Payload: payloadOf(call),
    }));
    return {
      ok: true,
      statusCode: out.StatusCode,
      functionError: out.FunctionError || null,
      executedVersion: out.ExecutedVersion || null,
      payload: out.Payload ? Buffer.from(out.Payload).toString("utf8") : "",
      log: out.LogResult ? Buffer.from(out.LogResult, "base64").toString("utf8") : null,
    };
  } catch (e) {
    return {
      ok: false,
      errorName: e.name,
      httpStatus: (e.$metadata && e.$metadata.httpStatusCode) || null,
      message: e.message,
      reason: e.Reason || null,
    };
  }
}

async function main() {
  const plan = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const client = new LambdaClient({
    endpoint: plan.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1, // report throttling instead of retrying it
  });
  const results = await Promise.all(plan.calls.map((call) => invoke(client, call)));
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
