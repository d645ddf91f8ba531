namespace FnOperator.Chart.Tests;

public sealed class LintTests
{
    [Fact]
    public async Task Helm_lint_passes_with_default_values()
    {
        var result = await Helm.RunAsync("lint", Repo.Chart);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("0 chart(s) failed", result.StdOut);
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Helm_lint_strict_passes(string valueSet)
    {
        List<string> args = ["lint", "--strict", Repo.Chart];
        foreach (var set in ValueSets.All[valueSet])
        {
            args.AddRange(["--set", set]);
        }

        var result = await Helm.RunAsync([.. args]);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("[WARNING]", result.StdOut);
        Assert.DoesNotContain("[ERROR]", result.StdOut);
    }

    [Fact]
    public async Task Notes_tell_the_user_how_to_apply_and_invoke_a_first_function()
    {
        var result = await Helm.RunAsync("install", "fn-operator", Repo.Chart, "--namespace", "fn-system", "--dry-run=client");
        Assert.True(result.ExitCode == 0, result.Describe());
        var notes = result.StdOut[result.StdOut.IndexOf("NOTES:", StringComparison.Ordinal)..];
        Assert.Contains("kind: Function", notes);
        Assert.Contains("kubectl -n demo apply -f -", notes);
        Assert.Contains("kubectl -n fn-system port-forward service/fn-gateway 9000:8080", notes);
        Assert.Contains("aws lambda invoke --endpoint-url http://127.0.0.1:9000 --function-name demo/hello", notes);
    }
}
