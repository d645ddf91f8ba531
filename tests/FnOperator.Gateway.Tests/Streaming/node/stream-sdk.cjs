// InvokeWithResponseStreamCommand of the AWS SDK for JavaScript v3 (tests/node/node_modules) against an endpoint.
// stdin: {"endpoint", "functionName", "qualifier"?, "payload"? (JSON), "logType"?, "invocationType"?,
//         "signalFile"? (written when the first PayloadChunk arrived: the handler waits for it before writing more)}
// stdout: {"ok", "statusCode", "executedVersion", "contentType", "events": [{"type", "text"?, ...}]} or {"ok": false, ...}
const fs = require("fs");
const { LambdaClient, InvokeWithResponseStreamCommand } = require("@aws-sdk/client-lambda");

async function main() {
  const plan = JSON.parse(fs.readFileSync(0, "utf8"));
  const client = new LambdaClient({
    endpoint: plan.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  try {
    const out = await client.send(new InvokeWithResponseStreamCommand({
      FunctionName: plan.functionName,
      Qualifier: plan.qualifier,
      InvocationType: plan.invocationType,
      LogType: plan.logType,
      Payload: Buffer.from(JSON.stringify(plan.payload === undefined ? {} : plan.payload)),
    }));
    const events = [];
    let signalled = false;
    if (out.EventStream) {
      for await (const event of out.EventStream) {
        if (event.PayloadChunk) {
          const text = Buffer.from(event.PayloadChunk.Payload).toString("utf8");
          events.push({ type: "PayloadChunk", text, signalledBefore: signalled });
          if (plan.signalFile && !signalled) {
            fs.writeFileSync(plan.signalFile, "seen");
            signalled = true;
          }
        } else if (event.InvokeComplete) {
          const c = event.InvokeComplete;
          events.push({ type: "InvokeComplete", errorCode: c.ErrorCode ?? null, errorDetails: c.ErrorDetails ?? null, logResult: c.LogResult ?? null });
        } else {
          events.push({ type: Object.keys(event)[0] });
        }
      }
    }
    process.stdout.write(JSON.stringify({
      ok: true,
      statusCode: out.StatusCode,
      executedVersion: out.ExecutedVersion ?? null,
      contentType: out.ResponseStreamContentType ?? null,
      events,
    }));
  } catch (e) {
    process.stdout.write(JSON.stringify({
      ok: false,
      errorName: e.name,
      httpStatus: (e.$metadata && e.$metadata.httpStatusCode) || null,
      message: e.message,
    }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
