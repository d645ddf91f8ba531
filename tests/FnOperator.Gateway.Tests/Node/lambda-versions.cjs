// Drives the AWS SDK for JavaScript v3 Lambda client through the versions/aliases calls and a weighted-alias run.
// usage: node lambda-versions.cjs <node_modules dir> <endpoint> <function> <invocations>
// Prints one JSON object: the results of publish/create/update/list calls and, for the alias run, how many
// invocations each version served and how many responses named a different version than the one that ran.
'use strict';
const path = require('path');

const [modules, endpoint, fn, count] = process.argv.slice(2);
const sdk = require(path.join(modules, '@aws-sdk/client-lambda'));

async function attempt(call) {
  try {
    return await call();
  } catch (err) {
    return { error: err.name, httpStatus: err.$metadata ? err.$metadata.httpStatusCode : null, message: err.message };
  }
}

async function main() {
  const client = new sdk.LambdaClient({
    region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
  });
  const out = {};
  out.versions = await client.send(new sdk.ListVersionsByFunctionCommand({ FunctionName: fn }));
  out.create = await attempt(() => client.send(new sdk.CreateAliasCommand({
    FunctionName: fn, Name: 'canary', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } },
  })));
  out.duplicate = await attempt(() => client.send(new sdk.CreateAliasCommand({ FunctionName: fn, Name: 'canary', FunctionVersion: '1' })));
  out.get = await client.send(new sdk.GetAliasCommand({ FunctionName: fn, Name: 'canary' }));
  const counts = {};
  let mismatched = 0;
  const n = Number(count);
  const batch = 20;
  for (let i = 0; i < n; i += batch) {
    const calls = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      calls.push(client.send(new sdk.InvokeCommand({ FunctionName: fn, Qualifier: 'canary', Payload: Buffer.from('{}') })));
    }
    for (const response of await Promise.all(calls)) {
      const ran = JSON.parse(Buffer.from(response.Payload).toString('utf8'));
      counts[ran] = (counts[ran] || 0) + 1;
      if (ran !== response.ExecutedVersion) mismatched++;
    }
  }
  out.counts = counts;
  out.mismatched = mismatched;
  out.update = await client.send(new sdk.UpdateAliasCommand({
    FunctionName: fn, Name: 'canary', FunctionVersion: '2', RoutingConfig: { AdditionalVersionWeights: {} },
  }));
  const after = await client.send(new sdk.InvokeCommand({ FunctionName: fn + ':canary', Payload: Buffer.from('{}') }));
  out.afterShift = after.ExecutedVersion;
  out.list = await client.send(new sdk.ListAliasesCommand({ FunctionName: fn }));
  const arn = `arn:aws:lambda:us-east-1:000000000000:function:${fn}`;
  const executed = async (name, qualifier) => (await client.send(new sdk.InvokeCommand({ FunctionName: name, Qualifier: qualifier, Payload: Buffer.from('{}') }))).ExecutedVersion;
  out.forms = {
    qualifier: await executed(fn, '1'),
    nameQualifier: await executed(fn + ':1'),
    namespaceName: await executed('default/' + fn + ':1'),
    arnVersion: await executed(arn + ':1'),
    arnAlias: await executed(arn + ':canary'),
  };
  out.wrongSha = await attempt(() => client.send(new sdk.PublishVersionCommand({ FunctionName: fn, CodeSha256: '0'.repeat(64) })));
  out.staleRevision = await attempt(() => client.send(new sdk.PublishVersionCommand({ FunctionName: fn, RevisionId: 'not-the-latest' })));
  out.unknownAlias = await attempt(() => client.send(new sdk.GetAliasCommand({ FunctionName: fn, Name: 'nope' })));
  out.unknownVersion = await attempt(() => client.send(new sdk.InvokeCommand({ FunctionName: fn, Qualifier: '42' })));
  out.deleted = await attempt(() => client.send(new sdk.DeleteAliasCommand({ FunctionName: fn, Name: 'canary' })));
  out.afterDelete = await attempt(() => client.send(new sdk.InvokeCommand({ FunctionName: fn, Qualifier: 'canary' })));
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
