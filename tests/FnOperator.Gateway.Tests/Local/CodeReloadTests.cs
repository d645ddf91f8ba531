using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Edits to a function's code folder reach the next invocation without restarting local mode.</summary>
public sealed class CodeReloadTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData(InstanceModes.InProcess)]
    [InlineData(InstanceModes.Process)]
    public async Task Editing_the_code_restarts_the_warm_instance_once_and_the_next_invoke_runs_the_new_code(string mode)
    {
        var name = "reload-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, handlerCode: "exports.handler = async () => ({ version: 1 });");
        await using var local = await InstanceModes.StartAsync(mode, dir.Root);
        await local.WaitForLineAsync(l => l.StartsWith("Code folders are watched", StringComparison.Ordinal), Wait);
        Assert.Equal(1, (int)(await InvokeAsync(local, name))["version"]!);

        // Several writes in a burst (an editor saving, a build writing files) make one restart. Back to back: with a
        // pause between them a loaded machine could stretch a gap past CodeWatcher.Quiet (300 ms), and two restarts
        // would then be right (CI saw the instance start on version 2).
        for (var v = 2; v <= 4; v++)
        {
            dir.Write($"{name}/src/index.js", $"exports.handler = async () => ({{ version: {v} }});");
        }

        dir.Write($"{name}/src/helper.js", "module.exports = 1;");
        await local.WaitForLineAsync(l => l.StartsWith($"[{name}] code changed (", StringComparison.Ordinal), Wait);
        await WaitForReadyCountAsync(local, name, mode, 2);

        Assert.Equal(4, (int)(await InvokeAsync(local, name))["version"]!);
        var changed = Assert.Single(local.Lines(l => l.StartsWith($"[{name}] code changed (", StringComparison.Ordinal)));
        Assert.EndsWith("; restarting 1 warm instance", changed, StringComparison.Ordinal);
        Assert.Equal(2, InstanceModes.ReadyLines(local, name, mode).Count);
    }

    [Fact]
    public async Task An_edit_while_no_instance_runs_is_noted_and_the_next_invoke_starts_with_it()
    {
        var name = "cold-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, handlerCode: "exports.handler = async () => ({ version: 1 });");
        await using var local = await LocalModeProcess.StartAsync(dir.Root);
        await local.WaitForLineAsync(l => l.StartsWith("Code folders are watched", StringComparison.Ordinal), Wait);

        dir.Write($"{name}/src/index.js", "exports.handler = async () => ({ version: 2 });");

        await local.WaitForLineAsync(l => l == $"[{name}] code changed (index.js); the next invocation starts with the new code", Wait);
        Assert.Equal(2, (int)(await InvokeAsync(local, name))["version"]!);
    }

    [Theory]
    [InlineData("index.js", false)]
    [InlineData("lib/util.py", false)]
    [InlineData("node_modules/x/index.js", false)]
    [InlineData("__pycache__/app.cpython-312.pyc", true)]
    [InlineData("lib/__pycache__", true)]
    [InlineData("app.pyc", true)]
    [InlineData(".git/index", true)]
    [InlineData(".index.js.swp", true)]
    [InlineData("index.js~", true)]
    public void Files_the_runtime_or_an_editor_writes_do_not_restart(string path, bool ignored) =>
        Assert.Equal(ignored, CodeWatcher.Ignored(path));

    private static async Task WaitForReadyCountAsync(LocalModeProcess local, string name, string mode, int count)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (InstanceModes.ReadyLines(local, name, mode).Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, local.Output);
            await Task.Delay(100);
        }
    }

    private static async Task<JsonNode> InvokeAsync(LocalModeProcess local, string function)
    {
        using var http = new HttpClient { Timeout = Wait };
        var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{function}/invocations", new StringContent("{}", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !response.Headers.Contains("X-Amz-Function-Error"), $"{(int)response.StatusCode} {body}\n{local.Output}");
        return JsonNode.Parse(body)!;
    }
}
