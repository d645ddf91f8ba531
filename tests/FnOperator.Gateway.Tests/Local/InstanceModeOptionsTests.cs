using System.Net;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Tests.Support;
using static FnOperator.Gateway.Tests.Local.InstanceModes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary><c>--instances</c> on the command line, and in-process instances over the durable (NATS JetStream) queue.</summary>
public sealed class InstanceModeOptionsTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData(new string[0], InstanceMode.InProcess)]
    [InlineData(new[] { "--instances", "process" }, InstanceMode.Process)]
    [InlineData(new[] { "--instances", "in-process" }, InstanceMode.InProcess)]
    public void Instances_option_selects_the_mode_and_in_process_is_the_default(string[] extra, InstanceMode expected)
    {
        Assert.True(LocalOptions.TryParse(["local", "--functions", "fns", .. extra], out var options, out var error), error);

        Assert.Equal(expected, options.Instances);
    }

    [Fact]
    public void Usage_lists_the_instances_option_and_a_bad_value_names_it()
    {
        Assert.False(LocalOptions.TryParse(["--functions", "fns", "--instances", "thread"], out _, out var error));

        Assert.Equal("--instances: 'thread' is not process or in-process", error);
        Assert.Contains("--instances process|in-process", LocalOptions.Usage, StringComparison.Ordinal);
        Assert.Contains("[--instances process|in-process]", Cli.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_process_instances_serve_sync_and_async_invocations_from_a_jetstream_queue()
    {
        await using var nats = await NatsServer.StartAsync();
        var marker = Path.Combine(dir.SharedWritableFolder("out"), "ran.txt");
        dir.NodeFunction("js-fn", "js-fn", $$"""
            environment:
              - name: MARKER
                value: "{{marker}}"
            """, """
            const fs = require("fs");
            exports.handler = async (event) => { if (event.event) fs.appendFileSync(process.env.MARKER, JSON.stringify(event) + "\n"); return { echo: event }; };
            """);
        await using var local = await StartAsync(InProcess, dir.Root, null, "--queue", nats.Url);

        var sync = await InvokeAsync(local, "js-fn", """{"n":1}""");
        var accepted = await InvokeAsync(local, "js-fn", """{"event":2}""", type: "Event");

        Assert.True(sync.Ok, $"{sync}\n{local.Output}");
        Assert.Equal(1, (int)sync.Json["echo"]!["n"]!);
        Assert.Equal((int)HttpStatusCode.Accepted, accepted.Status);
        await TestWait.UntilAsync(() => File.Exists(marker) && File.ReadAllLines(marker).Length >= 1, Wait);
        Assert.Equal("""{"event":2}""", Assert.Single(File.ReadAllLines(marker)));
        Assert.Single(ReadyLines(local, "js-fn", InProcess));
    }
}
