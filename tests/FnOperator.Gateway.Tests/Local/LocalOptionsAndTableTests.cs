using FnOperator.Gateway.Local;

namespace FnOperator.Gateway.Tests.Local;

public sealed class LocalOptionsAndTableTests : IDisposable
{
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Options_parse_every_flag()
    {
        Assert.True(LocalOptions.TryParse(
            ["local", "--functions", "examples", "--listen", "127.0.0.1:0", "--idle-seconds", "2.5", "--retry-base-delay-seconds", "0.2", "--shim", "/x/s.dll"],
            out var options, out var error), error);

        Assert.Equal(new LocalOptions
        {
            Functions = "examples",
            Listen = "127.0.0.1:0",
            IdleOverride = TimeSpan.FromSeconds(2.5),
            RetryBaseDelay = TimeSpan.FromSeconds(0.2),
            ShimDll = "/x/s.dll",
        }, options);
    }

    [Fact]
    public void Options_default_to_the_make_run_address()
    {
        Assert.True(LocalOptions.TryParse(["--functions", "f.yaml"], out var options, out _));

        Assert.Equal("127.0.0.1:9000", options.Listen);
        Assert.Null(options.IdleOverride);
    }

    [Theory]
    [InlineData(new[] { "--listen", "127.0.0.1:9000" }, "--functions is required")]
    [InlineData(new[] { "--functions" }, "--functions needs a value")]
    [InlineData(new[] { "--functions", "x", "--listen", "nine-thousand" }, "--listen: 'nine-thousand' is not host:port (e.g. 127.0.0.1:9000)")]
    [InlineData(new[] { "--functions", "x", "--idle-seconds", "-1" }, "--idle-seconds: '-1' is not a number of seconds between 0 and 86400")]
    [InlineData(new[] { "--functions", "x", "--verbose", "yes" }, "unknown option '--verbose'")]
    [InlineData(new[] { "--functions", "x", "stray" }, "unexpected argument 'stray'")]
    public void Bad_options_get_a_clear_error(string[] args, string expected)
    {
        Assert.False(LocalOptions.TryParse(args, out _, out var error));

        Assert.Equal(expected, error);
    }

    [Fact]
    public void Table_shows_functions_skips_errors_and_invoke_commands()
    {
        dir.NodeFunction("a", "alpha", "memoryMiB: 512\ntimeoutSeconds: 9\nconcurrency:\n  provisioned: 1\nscaling:\n  maxReplicas: 3\n  scaleToZeroAfterSeconds: 0");
        dir.NodeFunction("b", "beta", "timeoutSeconds: 0");
        dir.Write("l.yaml", "apiVersion: fnoperator.io/v1alpha1\nkind: Layer\nmetadata: {name: lib}\n");
        var set = ManifestLoader.Load(dir.Root);
        var limits = set.Functions.ToDictionary(f => f, f => FunctionPool.LimitsFor(f.Function.Spec));

        var table = StartupTable.Render(set, limits, "http://127.0.0.1:9000", "fns");

        var lines = table.Split('\n');
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^alpha\s+nodejs22\.x\s+index\.handler\s+512 MB\s+9 s\s+1-3\s+never\s+"));
        Assert.Contains("Layer lib: not served in local mode", table, StringComparison.Ordinal);
        Assert.Contains("spec.timeoutSeconds: must be between 1 and 900 (got 0)", table, StringComparison.Ordinal);
        Assert.Contains("aws lambda invoke --endpoint-url http://127.0.0.1:9000 --function-name alpha --cli-binary-format raw-in-base64-out --payload '{\"name\":\"Ada\"}' out.json", table, StringComparison.Ordinal);
        Assert.DoesNotContain("--function-name beta", table, StringComparison.Ordinal);
    }

    [Fact]
    public void Functions_of_other_namespaces_are_invoked_as_namespace_dot_name()
    {
        dir.Folder("code");
        dir.Write("fn.yaml", "apiVersion: fnoperator.io/v1alpha1\nkind: Function\nmetadata: {name: f, namespace: team}\nspec: {runtime: provided.al2023, code: {path: code}}\n");
        dir.Write("code/bootstrap", "#!/bin/sh\n");

        var fn = Assert.Single(ManifestLoader.Load(dir.Root).Functions);

        Assert.Equal("team.f", StartupTable.InvokeName(fn));
    }
}
