using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>The Lua health checks in docs/argocd.md, run with Lua 5.1 (Argo CD's gopher-lua dialect) on sample objects.</summary>
public sealed class ArgoCdHealthTests
{
    private const string Ready = """{"type":"Ready","status":"True","reason":"Deployed","message":"1/1 replicas ready"}""";

    public static TheoryData<string, string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var kind in new[] { "Function", "Layer", "Alias", "EventSourceMapping" })
        {
            data.Add(kind, """{"metadata":{"generation":1}}""", "Progressing", "Waiting for the operator");
            data.Add(kind, $$$"""{"metadata":{"generation":3},"status":{"observedGeneration":2,"conditions":[{{{Ready}}}]}}""", "Progressing", "observe generation 3");
            data.Add(kind, $$$"""{"metadata":{"generation":2},"status":{"observedGeneration":2,"conditions":[{"type":"CodeReady","status":"True"},{{{Ready}}}]}}""", "Healthy", "Deployed: 1/1 replicas ready");
            data.Add(kind, """{"metadata":{"generation":2},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"False","reason":"UnknownRuntime","message":"Runtime 'cobol' is not known."}]}}""", "Degraded", "UnknownRuntime: Runtime 'cobol' is not known.");
            data.Add(kind, """{"metadata":{"generation":2},"status":{"observedGeneration":2,"conditions":[{"type":"Ready","status":"Unknown","reason":"Deploying","message":"Rollout in progress"}]}}""", "Progressing", "Deploying: Rollout in progress");
            data.Add(kind, """{"metadata":{"generation":1},"status":{"observedGeneration":1,"conditions":[]}}""", "Progressing", "No Ready condition yet");
        }

        data.Add("EventSourceMapping", $$$"""{"metadata":{"generation":4},"spec":{"enabled":false},"status":{"observedGeneration":4,"conditions":[{{{Ready}}}]}}""", "Suspended", "disabled");
        data.Add("EventSourceMapping", $$$"""{"metadata":{"generation":4},"spec":{"enabled":true},"status":{"observedGeneration":4,"conditions":[{{{Ready}}}]}}""", "Healthy", "Deployed");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Health_check_maps_generation_and_ready_condition_to_argo_cd_status(string kind, string json, string status, string message)
    {
        var lua = ProcessRunner.Which("lua5.1") ?? ProcessRunner.Which("lua");
        Assert.True(lua is not null, "Lua is not installed (Debian package 'lua5.1'; .ci/run installs it)");
        var script = Path.Combine(Path.GetTempPath(), $"fnop-health-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(script,
            "local obj = " + ToLua(JsonNode.Parse(json)) + "\n" +
            "local function check()\n" + HealthScript(kind) + "\nend\n" +
            "local hs = check()\nio.write(hs.status, '\\n', hs.message or '', '\\n')\n");
        try
        {
            var result = await ProcessRunner.RunAsync(lua, [script]);
            Assert.True(result.ExitCode == 0, result.Describe());
            var lines = result.StdOut.Split('\n');
            Assert.Equal(status, lines[0]);
            Assert.Contains(message, lines[1]);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void Docs_define_a_health_check_for_each_of_the_four_kinds()
    {
        foreach (var kind in new[] { "Function", "Layer", "Alias", "EventSourceMapping" })
        {
            Assert.Contains("-- fnoperator-health: " + kind, HealthScript(kind));
        }
    }

    /// <summary>The block under resource.customizations.health.fnoperator.io_{kind} in docs/argocd.md, dedented.</summary>
    private static string HealthScript(string kind)
    {
        var lines = File.ReadAllLines(Repo.At("docs", "argocd.md"));
        var start = Array.FindIndex(lines, l => l.Trim() == $"resource.customizations.health.fnoperator.io_{kind}: |");
        Assert.True(start >= 0, $"docs/argocd.md has no health check for {kind}");
        var body = lines.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)).Select(l => l[4..]);
        return string.Join('\n', body);
    }

    private static string ToLua(JsonNode? node) => node switch
    {
        null => "nil",
        JsonObject o => "{" + string.Join(", ", o.Where(kv => kv.Value is not null).Select(kv => $"[{Quote(kv.Key)}] = {ToLua(kv.Value)}")) + "}",
        JsonArray a => "{" + string.Join(", ", a.Select(ToLua)) + "}",
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "true" : "false",
        JsonValue v when v.TryGetValue<string>(out var s) => Quote(s),
        _ => Convert.ToString(node.GetValue<decimal>(), CultureInfo.InvariantCulture),
    };

    private static string Quote(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c switch { '\\' => "\\\\", '"' => "\\\"", '\n' => "\\n", '\r' => "\\r", _ => c.ToString() });
        }

        return sb.Append('"').ToString();
    }
}
