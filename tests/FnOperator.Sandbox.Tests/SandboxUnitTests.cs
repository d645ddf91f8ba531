using System.Collections;
using FnOperator.RuntimeShim;

namespace FnOperator.Sandbox.Tests;

/// <summary>The pure parts of the sandbox: the environment allowlist, the launch wrapper, Lambda's exit wording.</summary>
public sealed class SandboxUnitTests
{
    private static ShimOptions Options(string runtime = "nodejs22.x") => ShimOptions.FromEnvironment(new Hashtable
    {
        ["AWS_LAMBDA_FUNCTION_NAME"] = "fn",
        ["FNOP_RUNTIME"] = runtime,
        ["_HANDLER"] = "index.handler",
        ["LAMBDA_TASK_ROOT"] = "/code",
    });

    [Fact]
    public void Environment_keeps_the_function_own_the_minimal_set_and_the_opt_in_and_nothing_else()
    {
        var env = RuntimeLaunch.Environment(Options(), "127.0.0.1:9001", new Hashtable
        {
            ["PATH"] = "/usr/bin",
            ["HOME"] = "/root",
            ["KUBERNETES_SERVICE_HOST"] = "10.0.0.1",
            ["SECRET"] = "x",
            ["GREETING"] = "hi",
            ["AWS_PROFILE"] = "dev",
            ["AWS_SESSION_TOKEN"] = "t",
            ["FNOP_SOURCE_URL"] = "http://gw",
            [RuntimeLaunch.FunctionEnvVariable] = "GREETING, FNOP_SOURCE_URL",
            [RuntimeLaunch.PassEnvVariable] = "AWS_PROFILE",
        });

        Assert.Equal("/usr/bin:/opt/bin", env["PATH"]); // the image's PATH, with the layers' bin last as Lambda puts it
        Assert.Equal("hi", env["GREETING"]);
        Assert.Equal("dev", env["AWS_PROFILE"]);
        Assert.Equal("t", env["AWS_SESSION_TOKEN"]);
        Assert.Equal(":UTC", env["TZ"]);
        Assert.Equal("en_US.UTF-8", env["LANG"]);
        foreach (var dropped in new[] { "HOME", "KUBERNETES_SERVICE_HOST", "SECRET", "FNOP_SOURCE_URL", RuntimeLaunch.FunctionEnvVariable, RuntimeLaunch.PassEnvVariable })
        {
            Assert.DoesNotContain(dropped, env.Keys);
        }
    }

    [Fact]
    public void Environment_without_a_path_gets_lambdas()
    {
        var env = RuntimeLaunch.Environment(Options("python3.12"), "127.0.0.1:9001", new Hashtable());

        Assert.Equal("/usr/local/bin:/usr/bin/:/bin:/opt/bin", env["PATH"]);
        Assert.Equal("1", env["PYTHONUNBUFFERED"]);
    }

    [Theory]
    [InlineData(0, "exit status 0")]
    [InlineData(1, "exit status 1")]
    [InlineData(128, "exit status 128")]
    [InlineData(137, "signal: killed")]
    [InlineData(139, "signal: segmentation fault")]
    [InlineData(134, "signal: aborted")]
    [InlineData(143, "signal: terminated")]
    public void Exit_is_worded_as_lambda_words_it(int code, string expected) =>
        Assert.Equal(expected, RuntimeInstance.ExitDescription(code));

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Program_lookup_for_the_runtime_uid_skips_what_only_root_can_reach_or_run()
    {
        using var tree = new LookupTree();
        var hidden = tree.Bin("hidden", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "prog");
        var ownerOnly = tree.Bin("owner-only", Open, "prog", UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var shared = tree.Bin("shared", Open, "prog");
        var path = string.Join(':', hidden, ownerOnly, shared);

        Assert.Equal(Path.Combine(shared, "prog"), SandboxSettings.FindAsUnprivileged("prog", path));
        Assert.Null(SandboxSettings.FindAsUnprivileged("prog", string.Join(':', hidden, ownerOnly)));
        Assert.Null(SandboxSettings.FindAsUnprivileged("./prog", path));
        Assert.Null(SandboxSettings.FindAsUnprivileged("prog", null));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Keeper_launch_as_another_uid_names_the_program_that_uid_can_run()
    {
        // setpriv looks the program up with root's file access still in hand, so under a keeper (nothing execs between
        // setpriv and the runtime) the shim names the program the runtime's uid would find: a developer's
        // /root/.pyenv/shims/python3 first on PATH otherwise wins and fails as the runtime's uid (exit 126).
        using var tree = new LookupTree();
        var hidden = tree.Bin("hidden", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, "prog");
        var shared = tree.Bin("shared", Open, "prog");
        var sandbox = new SandboxSettings { RuntimeUid = 4242, Keeper = ["/opt/shim", "keeper"] };

        var (file, arguments, _) = sandbox.Wrap("prog", ["--flag"], $"{hidden}:{shared}");

        var command = new[] { file }.Concat(arguments).ToList();
        var expected = File.Exists(SandboxSettings.SetprivPath) && FnOperator.Sandboxing.ProcessTable.IsRoot ? Path.Combine(shared, "prog") : "prog";
        Assert.Equal([expected, "--flag"], command[^2..]);
        Assert.Equal(["prog", "--flag"], new SandboxSettings { RuntimeUid = 4242 }.Wrap("prog", ["--flag"], $"{hidden}:{shared}").Arguments[^2..]);
    }

    private const UnixFileMode Open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>A temporary tree of bin folders (the root others can enter), each with one executable.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private sealed class LookupTree : IDisposable
    {
        private readonly string root = Directory.CreateTempSubdirectory("fnop-lookup-").FullName;

        public LookupTree() => File.SetUnixFileMode(root, Open);

        public string Bin(string name, UnixFileMode folderMode, string program, UnixFileMode programMode = Open)
        {
            var folder = Directory.CreateDirectory(Path.Combine(root, name, "bin")).FullName;
            File.WriteAllText(Path.Combine(folder, program), "#!/bin/sh\nexit 0\n");
            File.SetUnixFileMode(Path.Combine(folder, program), programMode);
            File.SetUnixFileMode(Path.Combine(root, name), folderMode);
            return folder;
        }

        public void Dispose() => Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Launch_is_wrapped_in_setpriv_pdeathsig_and_setsid_where_present()
    {
        var (file, arguments, ownGroup) = new SandboxSettings { RuntimeUid = 4242 }.Wrap("node", ["index.mjs"]);

        var command = new[] { file }.Concat(arguments).ToList();
        Assert.Equal(["node", "index.mjs"], command[^2..]);
        if (File.Exists(SandboxSettings.SetprivPath))
        {
            Assert.Equal([SandboxSettings.SetprivPath, "--pdeathsig", "KILL"], command[..3]);
            Assert.Equal(FnOperator.Sandboxing.ProcessTable.IsRoot, command.Contains("--reuid"));
        }

        Assert.Equal(File.Exists(RuntimeLaunch.SetsidPath), ownGroup);
    }

    [Fact]
    public void Sandbox_settings_come_from_the_environment()
    {
        var settings = SandboxSettings.From(new Hashtable { [SandboxSettings.UidVariable] = "5000", [SandboxSettings.MemoryLimitVariable] = "off" });

        Assert.Equal(5000, settings.RuntimeUid);
        Assert.Equal(5000, settings.RuntimeGid);
        Assert.False(settings.EnforceMemory);
        Assert.True(SandboxSettings.From(new Hashtable()).EnforceMemory);
        Assert.Null(SandboxSettings.From(new Hashtable { [SandboxSettings.UidVariable] = "0" }).RuntimeUid);
    }
}
