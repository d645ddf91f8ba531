using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Sandboxing;

namespace FnOperator.Sandbox.Tests;

/// <summary>Local mode serializes: its tests set process-wide environment variables that the local-mode process inherits.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LocalModeCollection
{
    public const string Name = "local mode (process environment)";
}

/// <summary>The hostile function in local mode: host environment, isolation between functions, cleanup on shim loss and stop.</summary>
[Collection(LocalModeCollection.Name)]
public sealed class LocalModeSandboxTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Local_mode_runtime_sees_none_of_the_hosts_variables()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "envy", extraSpec: "environment:\n  - name: OWN_SETTING\n    value: mine");
        Environment.SetEnvironmentVariable("SANDBOX_PLANTED_SECRET", "do-not-leak");
        try
        {
            await using var local = await LocalModeProcess.StartAsync(manifests.Root);

            var (env, _) = await EnvOfAsync(local, "envy");

            Assert.DoesNotContain("SANDBOX_PLANTED_SECRET", env.Keys);
            Assert.Equal("mine", env["OWN_SETTING"]);
            foreach (var host in new[] { "HOME", "USER", "MAKEFLAGS", "DOTNET_ROOT", "FNOP_SHIM_DLL" })
            {
                Assert.DoesNotContain(host, env.Keys);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("SANDBOX_PLANTED_SECRET", null);
        }
    }

    [Fact]
    public async Task One_function_cannot_read_another_functions_environment()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "victim", extraSpec: "environment:\n  - name: VICTIM_TOKEN\n    value: t0ken");
        HostileFunction.WriteManifest(manifests, "thief");
        await using var local = await LocalModeProcess.StartAsync(manifests.Root);

        var (_, victimPid) = await EnvOfAsync(local, "victim");
        var attempt = await InvokeAsync(local, "thief", new { action = "read-environ", pid = victimPid });

        if (ProcessTable.IsRoot && File.Exists("/usr/bin/setpriv"))
        {
            // Each function's runtimes run as a uid of their own: the kernel refuses /proc/<pid>/environ across uids.
            Assert.Equal("EACCES", attempt.GetProperty("error").GetString());
            Assert.NotEqual(0, Procs.Uid(victimPid));
        }
        else
        {
            // The documented limitation (docs/security.md): without root, every function runs as local mode's user.
            Assert.True(attempt.TryGetProperty("read", out _), attempt.ToString());
        }
    }

    [Fact]
    public async Task Shim_SIGKILL_ends_its_runtime_and_orphans_within_seconds_with_bounded_memory()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "orphaned", timeoutSeconds: 120);
        // A shim process's SIGKILL: process mode's (local mode, their subreaper, ends what its runtime detached). In-process
        // a SIGKILL of the runtime's keeper alone ends the runtime but not what it detached (docs/local-mode.md).
        await using var local = await LocalModeProcess.StartAsync(manifests.Root, "--instances", "process");
        var secs = Random.Shared.Next(800_000, 899_999);
        var (_, runtimePid) = await EnvOfAsync(local, "orphaned");
        var shimPid = ProcessTable.Stat(runtimePid)!.Value.Parent;

        // Mid-invocation: the runtime and its 6 setsid / double-forked children are running when the shim is SIGKILLed.
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        _ = client.PostAsync(InvokeUrl(local, "orphaned"), Json(new { action = "spawn", n = 3, secs, hang = true }));
        Assert.True(await Procs.EventuallyAsync(() => Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count == 6, Generous));
        Assert.Equal(0, Kill(shimPid));

        long peakMb = 0;
        var gone = await Procs.EventuallyAsync(() =>
        {
            peakMb = Math.Max(peakMb, Procs.RssMb(runtimePid));
            return !Procs.Alive(runtimePid) && Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count == 0;
        }, TimeSpan.FromSeconds(30));

        Assert.True(gone, $"runtime alive: {Procs.Alive(runtimePid)}, children left: {Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count}");
        Assert.True(peakMb < 300, $"the orphaned runtime grew to {peakMb} MB");
    }

    [Fact]
    public async Task Sync_invocation_whose_shim_is_SIGKILLed_is_answered_with_an_error_once_and_never_run_again()
    {
        using var manifests = new TempManifests();
        // One instance at most: a copy put back on the queue would be the next thing the replacement instance runs, before
        // the follow-up call below, and would write a second line.
        HostileFunction.WriteManifest(manifests, "fragile", timeoutSeconds: 5, extraSpec: "scaling:\n  maxReplicas: 1");
        var marks = Path.Combine(manifests.SharedWritableFolder("marks"), "runs.txt");
        await using var local = await LocalModeProcess.StartAsync(manifests.Root);
        var (_, runtimePid) = await EnvOfAsync(local, "fragile");
        var shimPid = ProcessTable.Stat(runtimePid)!.Value.Parent;

        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        var call = client.PostAsync(InvokeUrl(local, "fragile"), Json(new { action = "mark", file = marks }));
        Assert.True(await Procs.EventuallyAsync(() => Runs(marks).Count == 1, Generous), "the invocation never started");
        Assert.Equal(0, Kill(shimPid));

        using var response = await call;
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        // The replacement instance serves the next call; a re-run of the lost one would have come first.
        var after = await InvokeAsync(local, "fragile", new { action = "pid" });

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Unhandled", response.Headers.GetValues("X-Amz-Function-Error").Single());
        // Lambda answers a sync caller whose environment died with an error; which one depends on who noticed first: the
        // lost lease (Runtime.ExitError) or the caller's backstop at the timeout (Sandbox.Timedout).
        Assert.Contains(body.GetProperty("errorType").GetString(), new[] { "Runtime.ExitError", "Sandbox.Timedout" });
        Assert.NotEqual(runtimePid, after.GetProperty("pid").GetInt32());
        Assert.Equal([response.Headers.GetValues("x-amzn-RequestId").Single()], Runs(marks));
    }

    private static List<string> Runs(string file) =>
        File.Exists(file) ? [.. File.ReadAllLines(file).Where(l => l.Length > 0)] : [];

    [Fact]
    public async Task Local_mode_stop_leaves_no_process_behind()
    {
        using var manifests = new TempManifests();
        HostileFunction.WriteManifest(manifests, "spawner");
        var local = await LocalModeProcess.StartAsync(manifests.Root);
        var secs = Random.Shared.Next(900_000, 999_999);
        var spawned = await InvokeAsync(local, "spawner", new { action = "spawn", n = 5, secs });
        var runtimePid = spawned.GetProperty("pid").GetInt32();
        Assert.Equal(10, Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count);

        await local.StopAsync(TimeSpan.FromSeconds(90));
        await local.DisposeAsync();

        Assert.True(await Procs.EventuallyAsync(() => !Procs.Alive(runtimePid) && Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count == 0, Generous),
            $"{Procs.WithArgs("sleep", secs.ToString(CultureInfo.InvariantCulture)).Count} children outlived local mode");
    }

    internal static async Task<(Dictionary<string, string?> Env, int Pid)> EnvOfAsync(LocalModeProcess local, string function)
    {
        var result = await InvokeAsync(local, function, new { action = "env" });
        var env = result.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        return (env, result.GetProperty("pid").GetInt32());
    }

    internal static async Task<JsonElement> InvokeAsync(LocalModeProcess local, string function, object evt)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(3) };
        using var response = await client.PostAsync(InvokeUrl(local, function), Json(evt));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode && !response.Headers.Contains("X-Amz-Function-Error"), $"{(int)response.StatusCode}: {text}\n{local.Output}");
        return JsonDocument.Parse(text).RootElement;
    }

    internal static Uri InvokeUrl(LocalModeProcess local, string function) => new($"{local.Endpoint}/2015-03-31/functions/{function}/invocations");

    internal static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static int Kill(int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return kill.ExitCode;
    }
}
