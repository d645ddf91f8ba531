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

    [Fact]
    public async Task Packaged_chart_carries_schema_and_crds_and_renders()
    {
        var dir = Directory.CreateTempSubdirectory("fnop-chart-").FullName;
        try
        {
            var package = await Helm.RunAsync("package", Repo.Chart, "--destination", dir);
            Assert.True(package.ExitCode == 0, package.Describe());
            var archive = Directory.GetFiles(dir, "fn-operator-*.tgz").Single();
            var result = await Helm.RunAsync("template", "fn-operator", archive, "--namespace", "fn-system", "--include-crds");
            Assert.True(result.ExitCode == 0, result.Describe());
            var crdFiles = Directory.Exists(Path.Combine(Repo.Chart, "crds")) ? Directory.GetFiles(Path.Combine(Repo.Chart, "crds"), "*.yaml").Length : 0;
            Assert.Equal(crdFiles, Manifests.Parse(result.StdOut).OfKind("CustomResourceDefinition").Count());

            var bad = await Helm.RunAsync("template", "fn-operator", archive, "--set", "operator.replicas=two");
            Assert.Contains("/operator/replicas", bad.StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Namespaced_objects_name_their_namespace_and_cluster_objects_do_not(string valueSet)
    {
        string[] clusterScoped = ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"];
        var manifests = await ValueSets.RenderAsync(valueSet);
        foreach (var obj in manifests.All)
        {
            var where = $"{Manifests.Kind(obj)}/{Manifests.Name(obj)}";
            if (clusterScoped.Contains(Manifests.Kind(obj)))
            {
                Assert.True(Manifests.Namespace(obj) is null, where);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(Manifests.Namespace(obj)), where);
            }

            Assert.Equal("fn-operator", (string?)obj["metadata"]!["labels"]!["app.kubernetes.io/part-of"]);
        }
    }
}
