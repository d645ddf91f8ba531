using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using System.Text;
using static FnOperator.Gateway.Tests.Local.InstanceModes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Inline I/O (<see cref="InlineIo"/>): local mode's default, off with FNOP_INLINE_IO=0. Every other local-mode test runs
/// it on (the default); these cover the switch, its bad values and what shim processes inherit of it.
/// </summary>
public sealed class LocalModeInlineIoTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData("local", null, true)]
    [InlineData("serve", null, false)]
    [InlineData("local", "0", false)]
    [InlineData("local", "false", false)]
    [InlineData("serve", "1", true)]
    [InlineData("serve", " true ", true)]
    [InlineData(null, "", false)]
    public void Inline_io_is_on_in_local_mode_off_in_serve_mode_and_the_variable_decides_in_either(string? command, string? value, bool expected)
    {
        Assert.Equal(expected, InlineIo.Decide(command, value, out var problem));
        Assert.Null(problem);
    }

    [Fact]
    public async Task A_bad_inline_io_value_stops_the_gateway_with_a_clear_error_before_it_serves()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { RepoPaths.GatewayDll, "local", "--functions", dir.Root, "--listen", "127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment[InlineIo.Variable] = "maybe";
        using var process = System.Diagnostics.Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("error: FNOP_INLINE_IO must be 1 or 0 (was 'maybe')", (await stderr).Trim());
        Assert.Equal("", (await stdout).Trim());
    }

    [Theory]
    [MemberData(nameof(LocalModeInstanceModesTests.Modes), MemberType = typeof(LocalModeInstanceModesTests))]
    public async Task With_inline_io_off_local_mode_serves_invokes_through_the_thread_pool(string mode)
    {
        var name = "noinline-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10", "exports.handler = async (event) => ({ echo: event });");
        await using var local = await StartAsync(mode, dir.Root, new Dictionary<string, string> { [InlineIo.Variable] = "0" });

        for (var i = 0; i < 3; i++)
        {
            var result = await InvokeAsync(local, name, $$"""{"n":{{i}}}""");
            Assert.True(result.Ok, $"{result}\n{local.Output}");
            Assert.Equal(i, (int)result.Json["echo"]!["n"]!);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_shim_process_does_not_inherit_the_socket_variable_local_mode_set_on_itself_but_gets_one_the_user_set(bool userSetIt)
    {
        var name = "inline-env-" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "timeoutSeconds: 10", "exports.handler = async () => ({ pid: process.pid });");
        var environment = userSetIt ? new Dictionary<string, string> { [InlineIo.SocketsVariable] = "1" } : null;
        await using var local = await StartAsync(InstanceModes.Process, dir.Root, environment);

        var result = await InvokeAsync(local, name, "{}");

        Assert.True(result.Ok, $"{result}\n{local.Output}");
        var shim = ParentOf((int)result.Json["pid"]!);
        Assert.True(shim is { } s && FunctionProcesses.IsShim(s), local.Output);
        var environ = Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{shim}/environ")).Split('\0');
        Assert.Equal(userSetIt, environ.Contains($"{InlineIo.SocketsVariable}=1"));
        Assert.Contains(environ, v => v.StartsWith("AWS_LAMBDA_FUNCTION_NAME=", StringComparison.Ordinal)); // the shim's own environment was read
    }
}
