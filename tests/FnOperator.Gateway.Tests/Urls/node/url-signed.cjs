// Sends one HTTP request to a Function URL signed with SigV4 by @smithy/signature-v4 (the AWS SDK for JavaScript v3's
// signer, from tests/node/node_modules via NODE_PATH), as an AWS_IAM Function URL client does (service "lambda").
// Plan on stdin: {"url", "method", "body"?, "headers"?, "accessKeyId", "secretAccessKey", "region", "unsigned"?}.
// Prints {"status", "headers", "body"} on stdout.
'use strict';
const crypto = require('crypto');
const http = require('http');
const { SignatureV4 } = require('@smithy/signature-v4');

class Sha256 {
  constructor(secret) { this.hash = secret ? crypto.createHmac('sha256', Buffer.from(secret)) : crypto.createHash('sha256'); }
  update(data) { this.hash.update(Buffer.from(data)); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const plan = JSON.parse(input);
  const url = new URL(plan.url);
  const body = plan.body ?? '';
  const query = {};
  url.searchParams.forEach((v, k) => { query[k] = v; });
  let request = {
    method: plan.method ?? 'GET',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers: { host: url.host, ...(plan.headers ?? {}) },
    body,
  };
  if (!plan.unsigned) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: plan.accessKeyId, secretAccessKey: plan.secretAccessKey },
      region: plan.region ?? 'us-east-1',
      service: 'lambda',
      sha256: Sha256,
    });
    request = await signer.sign(request);
  }
  const result = await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: request.port, method: request.method, path: url.pathname + url.search, headers: request.headers,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.setTimeout(120000, () => req.destroy(new Error('timed out')));
    req.end(body);
  });
  process.stdout.write(JSON.stringify(result));
}

main().catch((e) => { console.error(e); process.exit(1); });
