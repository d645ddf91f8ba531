using System.Text;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Local mode: each version's instance pool scales on that version's own invocations, not the function's.</summary>
public sealed class LocalVersionPoolTests
{
    private const string Handler = """
        exports.handler = async () => { await new Promise(r => setTimeout(r, 1500)); return process.env.AWS_LAMBDA_FUNCTION_VERSION; };
        """;

    [Fact]
    public async Task Invoking_one_version_starts_instances_of_that_version_only()
    {
        using var temp = new TempManifests();
        temp.NodeFunction("fn", "pools", "timeoutSeconds: 10", Handler);
        var env = new Dictionary<string, string> { ["FNOP_LOCAL_STATE"] = temp.Folder("state") };
        await using var local = await LocalModeProcess.StartAsync(Path.Combine(temp.Root, "fn"), env);
        foreach (var expected in new[] { "1", "2" })
        {
            await File.WriteAllTextAsync(Path.Combine(temp.Root, "fn", "src", "mark.txt"), expected); // a code change: a new version
            var (exit, stdout, stderr) = await AwsCli.RunAsync("lambda", "publish-version", "--function-name", "pools", "--endpoint-url", local.Endpoint, "--region", "us-east-1", "--output", "json");
            Assert.True(exit == 0, stderr);
            Assert.Contains($"\"Version\": \"{expected}\"", stdout);
        }

        // Watch the instances of the other versions while version 2 is busy with three concurrent invocations.
        var others = new HashSet<int>();
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                others.UnionWith(Instances("pools", "1"));
                others.UnionWith(Instances("pools", "$LATEST"));
                await Task.Delay(50);
            }
        });
        var invokes = Enumerable.Range(0, 3).Select(_ => AwsCli.InvokeAsync(local.Endpoint, "pools", "{}", "--qualifier", "2")).ToList();
        var results = await Task.WhenAll(invokes);
        var busy = Instances("pools", "2");
        stop.Cancel();
        await watcher;

        Assert.All(results, r => Assert.True(r.ExitCode == 0 && r.OutFile == "\"2\"", $"{r.Stderr} {r.OutFile}\n{local.Output}"));
        Assert.True(busy.Count >= 2, $"version 2 scaled on its own load: {busy.Count} instance processes"); // a shim and its runtime at least
        Assert.Empty(others); // neither version 1's pool nor $LATEST's started anything
        Assert.Empty(Instances("pools", "1"));

        // delete-function --qualifier removes the version from the API and from the state folder; its number stays used.
        var (deleted, _, deleteErr) = await AwsCli.RunAsync("lambda", "delete-function", "--function-name", "pools", "--qualifier", "1", "--endpoint-url", local.Endpoint, "--region", "us-east-1");
        Assert.True(deleted == 0, deleteErr);
        var (_, list, _) = await AwsCli.RunAsync("lambda", "list-versions-by-function", "--function-name", "pools", "--endpoint-url", local.Endpoint, "--region", "us-east-1", "--output", "json");
        Assert.Equal(["$LATEST", "2"], System.Text.Json.Nodes.JsonNode.Parse(list)!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
        Assert.False(Directory.Exists(Path.Combine(env["FNOP_LOCAL_STATE"], "default", "pools", "versions", "1")));
        Assert.True(Directory.Exists(Path.Combine(env["FNOP_LOCAL_STATE"], "default", "pools", "versions", "2")));
    }

    /// <summary>Pids of live processes (shims and their runtimes) of the function's version, by their environment.</summary>
    private static List<int> Instances(string function, string version)
    {
        var name = Encoding.UTF8.GetBytes($"AWS_LAMBDA_FUNCTION_NAME={function}\0");
        var ver = Encoding.UTF8.GetBytes($"AWS_LAMBDA_FUNCTION_VERSION={version}\0");
        return FunctionProcesses.Of(function).Where(pid =>
        {
            try
            {
                var environ = File.ReadAllBytes($"/proc/{pid}/environ");
                return environ.AsSpan().IndexOf(name) >= 0 && environ.AsSpan().IndexOf(ver) >= 0;
            }
            catch (IOException)
            {
                return false;
            }
        }).ToList();
    }
}
