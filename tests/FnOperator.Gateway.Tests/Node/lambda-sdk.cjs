// Drives the AWS SDK for JavaScript v3 Lambda client against a gateway and prints one JSON line per call.
// usage: node lambda-sdk.cjs <node_modules dir> <endpoint> <calls.json>
// calls.json: [{"name": "...", "FunctionName": "...", "InvocationType"?: "...", "LogType"?: "...", "Payload"?: "...", "PayloadBytes"?: n, "Qualifier"?: "..."}]
'use strict';
const path = require('path');
const fs = require('fs');

const [modules, endpoint, callsFile] = process.argv.slice(2);
const { LambdaClient, InvokeCommand } = require(path.join(modules, '@aws-sdk/client-lambda'));

async function main() {
  const client = new LambdaClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const calls = JSON.parse(fs.readFileSync(callsFile, 'utf8'));
  for (const call of calls) {
    const input = { FunctionName: call.FunctionName };
    for (const key of ['InvocationType', 'LogType', 'Qualifier']) {
      if (call[key] !== undefined) input[key] = call[key];
    }
    if (call.PayloadBytes !== undefined) {
      input.Payload = Buffer.from('"' + 'a'.repeat(call.PayloadBytes) + '"');
    } else if (call.Payload !== undefined) {
      input.Payload = Buffer.from(call.Payload);
    }
    const out = { name: call.name };
    try {
      const response = await client.send(new InvokeCommand(input));
      out.statusCode = response.StatusCode;
      out.executedVersion = response.ExecutedVersion ?? null;
      out.functionError = response.FunctionError ?? null;
      out.logResult = response.LogResult ? Buffer.from(response.LogResult, 'base64').toString('utf8') : null;
      out.payload = response.Payload ? Buffer.from(response.Payload).toString('utf8') : null;
    } catch (err) {
      out.error = err.name;
      out.httpStatus = err.$metadata ? err.$metadata.httpStatusCode : null;
      out.reason = err.Reason ?? null;
      out.message = err.message;
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
