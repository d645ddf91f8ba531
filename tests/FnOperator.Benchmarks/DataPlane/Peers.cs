using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FnOperator.Benchmarks.DataPlane;

/// <summary>
/// The servers compared in the data-plane benchmark, all running <see cref="Handler"/>: a bare node http server (the limit),
/// @vercel/fun and serverless-offline (npm, installed by the benchmark into its own cache folder) and FnOperator local mode.
/// </summary>
internal static partial class Peers
{
    public const string Handler = "exports.handler = async () => ({});\n";
    public const string FunctionName = "bench-noop";
    private const string FunVersion = "1.3.6";
    private const string ServerlessVersion = "3.40.0";
    private const string OfflineVersion = "13.9.0";

    /// <summary>Where the npm peers are installed: $FNOP_BENCH_NPM_CACHE, else ~/.cache/fnoperator-bench/dataplane.</summary>
    public static string NpmFolder => Environment.GetEnvironmentVariable("FNOP_BENCH_NPM_CACHE") is { Length: > 0 } folder
        ? folder
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fnoperator-bench", "dataplane");

    /// <summary>Installs the pinned peers with npm unless that exact set is already there.</summary>
    public static async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var folder = NpmFolder;
        var stamp = Path.Combine(folder, $".installed-{FunVersion}-{ServerlessVersion}-{OfflineVersion}");
        if (File.Exists(stamp))
        {
            return;
        }

        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "package.json"), """{ "private": true }""", cancellationToken);
        var info = new ProcessStartInfo("npm") { WorkingDirectory = folder, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "install", "--no-audit", "--no-fund", $"@vercel/fun@{FunVersion}", $"serverless@{ServerlessVersion}", $"serverless-offline@{OfflineVersion}" })
        {
            info.ArgumentList.Add(arg);
        }

        using var npm = Process.Start(info) ?? throw new InvalidOperationException("npm did not start");
        var stderr = npm.StandardError.ReadToEndAsync(cancellationToken);
        await npm.StandardOutput.ReadToEndAsync(cancellationToken);
        await npm.WaitForExitAsync(cancellationToken);
        if (npm.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm install of the benchmark peers failed ({npm.ExitCode}): {await stderr}");
        }

        await File.WriteAllTextAsync(stamp, DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture), cancellationToken);
    }

    /// <summary>Writes the handler, the peers' driver scripts and manifests into <paramref name="scratch"/>.</summary>
    public static async Task WriteFilesAsync(string scratch, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.Combine(scratch, "src"));
        await File.WriteAllTextAsync(Path.Combine(scratch, "src", "index.js"), Handler, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(scratch, "bare.js"), """
            // The limit: node's own http server calling the handler in the same process.
            const http = require('http');
            const { handler } = require(process.argv[2]);
            const server = http.createServer((req, res) => {
              const chunks = [];
              req.on('data', (c) => chunks.push(c));
              req.on('end', async () => {
                const event = JSON.parse(Buffer.concat(chunks).toString() || 'null');
                const body = JSON.stringify(await handler(event, {}));
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(body);
              });
            });
            server.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port));
            """, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(scratch, "fun.js"), """
            // @vercel/fun: its Runtime API server and a pool of runtime processes (native provider); one http front.
            const http = require('http');
            const { createFunction } = require(process.argv[2]);
            (async () => {
              const fn = await createFunction({
                FunctionName: 'bench-noop', Code: { Directory: process.argv[3] }, Handler: 'index.handler',
                Runtime: 'nodejs', MemorySize: 128, Timeout: 30,
              });
              const server = http.createServer((req, res) => {
                const chunks = [];
                req.on('data', (c) => chunks.push(c));
                req.on('end', async () => {
                  try {
                    const result = await fn.invoke({ InvocationType: 'RequestResponse', Payload: Buffer.concat(chunks).toString() });
                    res.writeHead(result.FunctionError ? 500 : 200, { 'content-type': 'application/json' });
                    res.end(String(result.Payload));
                  } catch (e) {
                    res.writeHead(500); res.end(String(e));
                  }
                });
              });
              server.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port));
            })();
            """, cancellationToken);
        var offline = Path.Combine(scratch, "offline");
        Directory.CreateDirectory(offline);
        await File.WriteAllTextAsync(Path.Combine(offline, "index.js"), Handler, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(offline, "serverless.yml"), """
            service: bench
            frameworkVersion: '3'
            provider:
              name: aws
              runtime: nodejs20.x
            plugins:
              - serverless-offline
            functions:
              noop:
                handler: index.handler
            """, cancellationToken);
        var link = Path.Combine(offline, "node_modules");
        if (!Directory.Exists(link))
        {
            Directory.CreateSymbolicLink(link, Path.Combine(NpmFolder, "node_modules"));
        }
    }

    public static Task<ServerTarget> BareAsync(string scratch, CancellationToken cancellationToken) =>
        ServerTarget.StartAsync("bare node http", "node", ["bare.js", Path.Combine(scratch, "src", "index.js")], scratch,
            new Dictionary<string, string>(), ListeningLine(), m => $"http://127.0.0.1:{m.Groups[1].Value}/", cancellationToken);

    public static Task<ServerTarget> FunAsync(string scratch, CancellationToken cancellationToken) =>
        ServerTarget.StartAsync("@vercel/fun " + FunVersion, "node", ["fun.js", Path.Combine(NpmFolder, "node_modules", "@vercel", "fun"), Path.Combine(scratch, "src")], scratch,
            new Dictionary<string, string>(), ListeningLine(), m => $"http://127.0.0.1:{m.Groups[1].Value}/", cancellationToken);

    public static Task<ServerTarget> OfflineAsync(string scratch, CancellationToken cancellationToken)
    {
        var lambdaPort = ServerTarget.FreePort();
        var httpPort = ServerTarget.FreePort();
        var cli = Path.Combine(NpmFolder, "node_modules", "serverless", "bin", "serverless.js");
        return ServerTarget.StartAsync("serverless-offline " + OfflineVersion, "node",
            [cli, "offline", "start", "--lambdaPort", lambdaPort.ToString(CultureInfo.InvariantCulture), "--httpPort", httpPort.ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1"],
            Path.Combine(scratch, "offline"),
            new Dictionary<string, string> { ["SLS_TELEMETRY_DISABLED"] = "1", ["SLS_NOTIFICATIONS_MODE"] = "off", ["SLS_DEPRECATION_DISABLE"] = "*", ["CI"] = "1" },
            OfflineLambdaLine(), _ => $"http://127.0.0.1:{lambdaPort}/2015-03-31/functions/bench-dev-noop/invocations", cancellationToken);
    }

    /// <summary>
    /// FnOperator local mode serving the handler as a Function with <paramref name="maxReplicas"/> instances at most
    /// (none warm: the first call is a cold start), <paramref name="perInstance"/> invocations per instance, and the shim
    /// at <paramref name="shim"/> (the JIT-built DLL or the Native AOT binary).
    /// </summary>
    /// <param name="instances">local mode's --instances (process: a shim process per instance; in-process: shims hosted in the gateway).</param>
    public static async Task<ServerTarget> LocalModeAsync(string name, string scratch, string shim, int maxReplicas, int perInstance, CancellationToken cancellationToken, string instances = "process")
    {
        var root = RepositoryRoot();
        var folder = Path.Combine(scratch, "fnop-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(folder, "src"));
        await File.WriteAllTextAsync(Path.Combine(folder, "src", "index.js"), Handler, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "function.yaml"), $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {FunctionName}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              code:
                path: src
              timeoutSeconds: 30
              concurrency:
                perInstance: {perInstance}
              scaling:
                maxReplicas: {maxReplicas}
                scaleToZeroAfterSeconds: 600
            """, cancellationToken);
        var gateway = Gateway.GatewayBuilds.Current.Dll;
        return await ServerTarget.StartAsync(Gateway.GatewayBuilds.Name(name), "dotnet", [gateway, "local", "--functions", folder, "--listen", "127.0.0.1:0", "--shim", shim, "--instances", instances], folder,
            new Dictionary<string, string>(), InvokeApiLine(), m => $"{m.Groups[1].Value}/2015-03-31/functions/{FunctionName}/invocations", cancellationToken);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FnOperator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("FnOperator.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"listening on ([0-9]+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"\[http for lambda\] listening on")]
    private static partial Regex OfflineLambdaLine();

    [GeneratedRegex(@"Lambda Invoke API on (http://[0-9.]+:[0-9]+)")]
    private static partial Regex InvokeApiLine();
}
