namespace FnOperator.Chart.Tests;

/// <summary>`make run` hands local mode's options through: FUNCTIONS, LISTEN and anything else in ARGS.</summary>
public sealed class MakeRunTests
{
    [Fact]
    public async Task Make_run_passes_ARGS_to_local_mode()
    {
        var result = await ProcessRunner.RunAsync("make", ["-n", "-C", Repo.Root, "run", "LISTEN=127.0.0.1:9100", "ARGS=--idle-seconds 5 --retry-base-delay-seconds 1"]);

        Assert.True(result.ExitCode == 0, result.Describe());
        // The recipe picks the gateway build (the ReadyToRun one of `make gateway-r2r` while it is current) into $gateway.
        var local = result.StdOut.Split('\n').Single(l => l.Contains("$gateway local --functions", StringComparison.Ordinal));
        Assert.EndsWith("local --functions \"examples\" --listen \"127.0.0.1:9100\" --queue \"memory\" --idle-seconds 5 --retry-base-delay-seconds 1", local.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Make_run_QUEUE_hands_a_nats_url_to_local_mode()
    {
        var result = await ProcessRunner.RunAsync("make", ["-n", "-C", Repo.Root, "run", "QUEUE=nats://127.0.0.1:4222"]);

        Assert.True(result.ExitCode == 0, result.Describe());
        var local = result.StdOut.Split('\n').Single(l => l.Contains("$gateway local --functions", StringComparison.Ordinal));
        Assert.Contains("--queue \"nats://127.0.0.1:4222\"", local, StringComparison.Ordinal);
    }
}
