using System.Diagnostics;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>A gateway with one function and a worker per version whose handler answers the version it runs as.</summary>
public sealed class VersionWorkers : IAsyncDisposable
{
    public const string Sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    private readonly List<TestWorker> workers = [];

    private VersionWorkers(TestGateway gateway, FunctionKey key)
    {
        Gateway = gateway;
        Key = key;
    }

    public TestGateway Gateway { get; }

    public FunctionKey Key { get; }

    public string Endpoint => Gateway.BaseAddress.ToString().TrimEnd('/');

    public static async Task<VersionWorkers> StartAsync(string name = "shop", string ns = FunctionKey.DefaultNamespace)
    {
        var gateway = await TestGateway.StartAsync();
        var key = gateway.Add(name, Spec(128), ns);
        var workers = new VersionWorkers(gateway, key);
        workers.Serve(FunctionRegistry.Latest);
        return workers;
    }

    public static FunctionSpec Spec(int memory, string sha = Sha) => new()
    {
        Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3, MemoryMiB = memory,
        Code = new FunctionCode { Url = "https://code.example.com/shop.zip", Sha256 = sha },
    };

    /// <summary>Starts a worker pulling only <paramref name="version"/>'s invocations; its handler returns "&lt;version&gt;".</summary>
    public void Serve(string version, int concurrency = 4) =>
        workers.Add(new TestWorker(Gateway.BaseAddress, Key, inv => TestWorker.Ok(inv, JsonValue.Create(version).ToJsonString()), concurrency, version));

    public Task<(int ExitCode, string Stdout, string Stderr)> AwsAsync(params string[] args) =>
        AwsCli.RunAsync([.. args, "--endpoint-url", Endpoint, "--region", "us-east-1", "--output", "json"]);

    public async Task<JsonObject> SdkAsync(string function, int invocations)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "FnOperator.Gateway.Tests", "Node", "lambda-versions.cjs");
        var modules = Path.Combine(RepoPaths.Root, "tests", "node", "node_modules");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, modules, Endpoint, function, invocations.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"node exited {process.ExitCode}: {(await stderr).Split('\n').Where(l => !l.Contains("node", StringComparison.OrdinalIgnoreCase) || l.Contains("Error", StringComparison.Ordinal)).Aggregate("", (a, l) => a + l + "\n")}");
        return JsonNode.Parse(await stdout)!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }

        await Gateway.DisposeAsync();
    }
}
