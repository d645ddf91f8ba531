using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// spec.concurrency.perInstance &gt; 1 in local mode (docs/concurrency.md): a node function's one instance runs that many
/// invocations at once in one runtime process; any other runtime is refused with file and field.
/// </summary>
public sealed class LocalModePerInstanceTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    // Each invocation waits at an in-process barrier until event.expect have arrived: none answers unless all run at once
    // in the one runtime process.
    private const string BarrierHandler = """
        let arrived = 0;
        exports.handler = async (event, context) => {
          arrived++;
          console.log(`arrived ${event.i}`);
          while (arrived < event.expect) await new Promise((r) => setTimeout(r, 10));
          return { i: event.i, pid: process.pid, requestId: context.awsRequestId };
        };
        """;

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task Four_invocations_run_at_once_in_one_node_instance_with_perInstance_4(string mode)
    {
        var name = "perinst-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 60\nconcurrency:\n  perInstance: 4\nscaling:\n  maxReplicas: 1", BarrierHandler);
        await using var local = await InstanceModes.StartAsync(mode, dir.Root, null, "--idle-seconds", "600");

        using var http = new HttpClient { Timeout = Wait };
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(async i =>
        {
            using var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{name}/invocations",
                new StringContent($$"""{"i":{{i}},"expect":4}""", Encoding.UTF8, "application/json"));
            return (i, response.StatusCode, Error: response.Headers.Contains("X-Amz-Function-Error"), Body: await response.Content.ReadAsStringAsync());
        }));

        Assert.All(responses, r => Assert.True(r.StatusCode == HttpStatusCode.OK && !r.Error, $"{r.i}: {r.StatusCode} {r.Body}\n{local.Output}"));
        Assert.All(responses, r => Assert.Equal(r.i, (int)JsonNode.Parse(r.Body)!["i"]!));
        Assert.Single(responses.Select(r => (int)JsonNode.Parse(r.Body)!["pid"]!).Distinct());
        Assert.Equal(4, responses.Select(r => (string)JsonNode.Parse(r.Body)!["requestId"]!).Distinct().Count());
        var started = InstanceModes.ReadyLines(local, name, mode).Count;
        Assert.True(started == 1, $"{started} instances started\n{local.Output}");
    }

    [Fact]
    public void Local_pool_limits_use_a_node_functions_perInstance()
    {
        var set = ManifestLoader.Load(dir.NodeFunction("n", "n", "concurrency:\n  reserved: 8\n  perInstance: 4"));

        var limits = FunctionPool.LimitsFor(Assert.Single(set.Functions).Function.Spec);

        Assert.Equal((4, 2), (limits.PerInstance, limits.MaxInstances));
    }

    public static TheoryData<string, string, string> BadSpecs => new()
    {
        { "python3.12", "concurrency:\n  perInstance: 4", "4 invocations per instance need a nodejs runtime" },
        { "provided.al2023", "concurrency:\n  perInstance: 2", "2 invocations per instance need a nodejs runtime" },
        { "nodejs22.x", "concurrency:\n  perInstance: 65", "must be between 1 and 64 (got 65)" },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void PerInstance_above_one_outside_node_is_refused_with_file_and_field(string runtime, string extraSpec, string message)
    {
        var bad = dir.NodeFunction("bad", "bad", extraSpec);
        File.WriteAllText(bad, File.ReadAllText(bad).Replace("runtime: nodejs22.x", $"runtime: {runtime}", StringComparison.Ordinal));
        dir.NodeFunction("good", "fine");

        var set = ManifestLoader.Load(dir.Root);

        var problem = Assert.Single(set.Problems);
        Assert.Equal(ManifestLoader.DisplayPath(bad), problem.File);
        Assert.Equal("spec.concurrency.perInstance", problem.Field);
        Assert.StartsWith(message, problem.Message, StringComparison.Ordinal);
        Assert.Equal(["fine"], set.Functions.Select(f => f.Name));
    }
}
