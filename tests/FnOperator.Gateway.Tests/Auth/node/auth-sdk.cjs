// Drives the unmodified AWS SDK for JavaScript v3 (tests/node/node_modules, NODE_PATH) against a gateway with real
// credentials: Invoke calls (optionally with a skewed clock, or with the body or a signed header changed after signing)
// and presigned Invoke URLs from @smithy/signature-v4. Plan on stdin, JSON array of results on stdout.
// plan: {"endpoint": "...", "calls": [{"name", "accessKeyId", "secretAccessKey", "functionName", "payload"?, "invocationType"?,
//        "clockOffsetMs"?, "tamper"?: "body"|"header"}], "presign": [{"name", "accessKeyId", "secretAccessKey", "functionName", "payload", "expiresIn"}]}
'use strict';
const crypto = require('crypto');
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const { SignatureV4 } = require('@smithy/signature-v4');

class Sha256 {
  constructor(secret) { this.hash = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256'); }
  update(data) { this.hash.update(typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

async function invoke(endpoint, call) {
  const client = new LambdaClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: call.accessKeyId, secretAccessKey: call.secretAccessKey },
    maxAttempts: 1,
    systemClockOffset: call.clockOffsetMs ?? 0,
  });
  if (call.tamper) {
    // The deserialize step runs after finalizeRequest (where the request is signed) and before it is sent.
    client.middlewareStack.add((next) => async (args) => {
      if (call.tamper === 'body') args.request.body = Buffer.from('{"tampered":true}');
      if (call.tamper === 'header') {
        // Change a header the signature covers (the caller sets InvocationType, so it is sent and signed).
        const name = Object.keys(args.request.headers).find((h) => h.toLowerCase() === 'x-amz-invocation-type');
        args.request.headers[name] = 'DryRun';
      }
      if (call.tamper === 'body') args.request.headers['content-length'] = String(args.request.body.length);
      return next(args);
    }, { step: 'deserialize', name: 'fnopTamper' });
  }
  const input = { FunctionName: call.functionName, Payload: Buffer.from(call.payload ?? '{}') };
  if (call.invocationType) input.InvocationType = call.invocationType;
  const out = { name: call.name };
  try {
    const response = await client.send(new InvokeCommand(input));
    out.statusCode = response.StatusCode;
    out.payload = response.Payload ? Buffer.from(response.Payload).toString('utf8') : null;
  } catch (err) {
    out.error = err.name;
    out.httpStatus = err.$metadata ? err.$metadata.httpStatusCode : null;
    out.message = err.message;
  }
  return out;
}

async function presign(endpoint, item) {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    credentials: { accessKeyId: item.accessKeyId, secretAccessKey: item.secretAccessKey },
    region: 'us-east-1',
    service: 'lambda',
    sha256: Sha256,
  });
  const request = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: `/2015-03-31/functions/${encodeURIComponent(item.functionName)}/invocations`,
    query: {},
    headers: { host: url.host },
    body: item.payload, // the payload hash goes into the canonical request: the URL is good for this body only
  };
  const signed = await signer.presign(request, { expiresIn: item.expiresIn ?? 300 });
  const query = Object.entries(signed.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return { name: item.name, url: `${url.protocol}//${url.host}${signed.path}?${query}` };
}

async function main() {
  const plan = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const results = [];
  for (const call of plan.calls ?? []) results.push(await invoke(plan.endpoint, call));
  for (const item of plan.presign ?? []) results.push(await presign(plan.endpoint, item));
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\n');
  process.exit(1);
});
