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
