using System.Diagnostics;
using System.Text;
using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode says where it differs from Lambda: memory not enforced, another runtime version on PATH.</summary>
public sealed class RuntimeWarningsTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    public static TheoryData<string, string, string?> Versions => new()
    {
        { "python3.12", "Python 3.11.7", "Note: python3.12 functions run on the local python3 3.11.7 (Lambda runs Python 3.12); code that needs the newer version may fail here." },
        { "python3.11", "Python 3.11.7", null },
        { "nodejs22.x", "v20.20.2", "Note: nodejs22.x functions run on the local node 20.20.2 (Lambda runs Node.js 22); code that needs the newer version may fail here." },
        { "nodejs20.x", "v20.20.2", null },
        { "provided.al2023", "v1.0", null },
    };

    [Theory]
    [MemberData(nameof(Versions))]
    public void Runtime_version_differing_from_the_manifest_gets_a_note(string runtime, string versionOutput, string? note) =>
        Assert.Equal(note, RuntimeWarnings.VersionNote(runtime, versionOutput));

    [Fact]
    public void Memory_above_memoryMiB_is_warned_once_per_function()
    {
        var warn = RuntimeWarnings.MemoryWarner();
        const string over = "REPORT RequestId: 1\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 300 MB\t";
        const string under = "REPORT RequestId: 2\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\t";

        Assert.Null(warn("a", under));
        Assert.Equal(
            "warning: Max Memory Used 300 MB exceeds memoryMiB 128; memory enforcement is off (FNOP_MEMORY_LIMIT=off), in a cluster the container's " +
            "memory limit would kill this invocation (raise spec.memoryMiB). Shown once per function.",
            warn("a", over));
        Assert.Null(warn("a", over));
        Assert.NotNull(warn("b", over));
        Assert.Null(warn("b", "START RequestId: 3 Version: $LATEST"));
    }

    [Fact]
    public async Task Local_mode_with_memory_enforcement_off_warns_after_the_REPORT_of_an_invocation_that_used_more_than_memoryMiB_and_notes_the_node_version()
    {
        var name = "mem-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 20", """
            const keep = [];
            exports.handler = async () => {
              keep.push(Buffer.alloc(300 * 1024 * 1024, 1));
              await new Promise((r) => setTimeout(r, 1500));
              return { ok: true };
            };
            """);
        await using var local = await LocalModeProcess.StartAsync(dir.Root, new Dictionary<string, string> { ["FNOP_MEMORY_LIMIT"] = "off" });
        using var http = new HttpClient { Timeout = Wait };
        var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{name}/invocations", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, local.Output);

        var warning = await local.WaitForLineAsync(l => l.StartsWith($"[{name}] warning: Max Memory Used ", StringComparison.Ordinal), Wait);

        Assert.Contains("exceeds memoryMiB 128; memory enforcement is off (FNOP_MEMORY_LIMIT=off)", warning, StringComparison.Ordinal);
        var report = local.Lines(l => l.StartsWith($"[{name}] REPORT RequestId", StringComparison.Ordinal)).Single();
        Assert.Equal(local.Lines(_ => true).ToList().IndexOf(report) + 1, local.Lines(_ => true).ToList().IndexOf(warning));
        Assert.Single(local.Lines(l => l.StartsWith($"[{name}] [shim] Started runtime, command=node ", StringComparison.Ordinal)));
        var nodeMajor = (await NodeVersionAsync()).TrimStart('v').Split('.')[0];
        Assert.Equal(nodeMajor == "22" ? 0 : 1, local.Lines(l => l.StartsWith("Note: nodejs22.x functions run on the local node ", StringComparison.Ordinal)).Count);
    }

    private static async Task<string> NodeVersionAsync()
    {
        using var node = Process.Start(new ProcessStartInfo("node", "--version") { RedirectStandardOutput = true })!;
        var version = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        return version.Trim();
    }
}
