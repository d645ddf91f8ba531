using System.Diagnostics;
using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Sandbox.Tests;

/// <summary>
/// The bootstraps' own guard against a dead output pipe, without the shim's parent-death signal (which, where setpriv
/// exists, kills the runtime first and so hides it): a runtime whose stdout and stderr readers are gone, logging in a
/// loop from a timer and from an error handler, exits by itself with bounded memory instead of spinning (the orphaned
/// node runtime of issue #17 grew ~100 MB/s at 100 % CPU).
/// </summary>
public sealed class DeadPipeBootstrapTests
{
    private const long PeakLimitKb = 150 * 1024;

    private static string Bootstraps => Path.Combine(RepoPaths.Root, "runtime-shim", "bootstraps");

    [Fact]
    public async Task Node_bootstrap_logging_exits_when_its_output_pipes_are_gone()
    {
        var logging = new Uri(Path.Combine(Bootstraps, "node", "logging.mjs")).AbsoluteUri;
        var script = $$"""
            const { patchConsole } = await import({{System.Text.Json.JsonSerializer.Serialize(logging)}});
            patchConsole();
            // What a careless handler does: log on a timer, and log every failure, including the logging's own.
            process.on("uncaughtException", (e) => console.error("uncaught", e));
            console.log("ready");
            setInterval(() => { console.log("x".repeat(200)); process.stderr.write("y".repeat(200) + "\n"); console.error(new Error("again")); }, 1);
            """;

        var (exitCode, peakKb) = await RunUntilOutputDiesAsync("node", ["--input-type=module", "-e", script]);

        Assert.Equal(141, exitCode);
        Assert.True(peakKb < PeakLimitKb, $"node grew to {peakKb} kB after its pipes closed");
    }

    [Fact]
    public async Task Python_bootstrap_logging_exits_when_its_output_pipes_are_gone()
    {
        var script = """
            import logging, sys, time
            import fnop_logging
            fnop_logging.install()
            print("ready")
            while True:
                try:
                    print("x" * 200)
                    logging.warning("y" * 200)
                    sys.stderr.write("z" * 200 + "\n")
                except Exception as e:
                    print("failed:", e)
                time.sleep(0.001)
            """;

        var (exitCode, peakKb) = await RunUntilOutputDiesAsync("python3", ["-c", script], ("PYTHONPATH", Path.Combine(Bootstraps, "python")));

        Assert.Equal(141, exitCode);
        Assert.True(peakKb < PeakLimitKb, $"python grew to {peakKb} kB after its pipes closed");
    }

    /// <summary>Starts the program, waits for its "ready" line, closes the read ends of its stdout and stderr, and
    /// samples its RSS until it exits (60 s at most: a spinning runtime fails the test rather than hanging it).</summary>
    private static async Task<(int ExitCode, long PeakKb)> RunUntilOutputDiesAsync(string file, string[] args, params (string Name, string Value)[] env)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        try
        {
            using var ready = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line;
            while ((line = await process.StandardOutput.ReadLineAsync(ready.Token)) is not null && !line.EndsWith("ready", StringComparison.Ordinal))
            {
            }

            Assert.NotNull(line);
            process.StandardOutput.BaseStream.Dispose();
            process.StandardError.BaseStream.Dispose();

            long peakKb = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!process.HasExited && DateTime.UtcNow < deadline)
            {
                peakKb = Math.Max(peakKb, Procs.RssMb(process.Id) * 1024);
                await Task.Delay(50);
            }

            Assert.True(process.HasExited, $"{file} still running 60 s after its output pipes closed (RSS {Procs.RssMb(process.Id)} MB)");
            return (process.ExitCode, peakKb);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
