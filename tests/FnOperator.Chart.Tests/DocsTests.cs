using System.Text.RegularExpressions;

namespace FnOperator.Chart.Tests;

public sealed partial class DocsTests
{
    [Fact]
    public void Runtime_image_table_matches_the_operators_defaults()
    {
        var code = File.ReadAllText(Repo.At("operator", "FnOperator.Contracts", "LambdaRuntimes.cs"));
        var defaults = CodeEntry().Matches(code).ToDictionary(m => m.Groups[1].Value, m => "public.ecr.aws/lambda/" + m.Groups[2].Value);
        Assert.NotEmpty(defaults);

        var doc = File.ReadAllText(Repo.At("docs", "runtime-images.md"));
        var section = doc[doc.IndexOf("## Default map", StringComparison.Ordinal)..doc.IndexOf("## Overriding", StringComparison.Ordinal)];
        var table = DocRow().Matches(section).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(defaults.OrderBy(kv => kv.Key), table.OrderBy(kv => kv.Key));
    }

    [Theory]
    [InlineData("docs/install.md")]
    [InlineData("docs/security.md")]
    [InlineData("docs/argocd.md")]
    [InlineData("docs/runtime-images.md")]
    public void Every_repository_path_a_doc_names_exists(string doc)
    {
        var text = File.ReadAllText(Repo.At(doc.Split('/')));
        foreach (Match match in RepoPath().Matches(text))
        {
            var path = match.Groups[1].Value.TrimEnd('/', '.', ',');
            Assert.True(File.Exists(Repo.At(path.Split('/'))) || Directory.Exists(Repo.At(path.Split('/'))), $"{doc} names {path}, which does not exist");
        }
    }

    [Fact]
    public void Install_guide_uses_the_e2e_scripts_chart_and_function_commands()
    {
        var guide = File.ReadAllText(Repo.At("docs", "install.md"));
        Assert.Contains("--set imagePullPolicy=Never --set 'networkPolicy.functionNamespaces={demo}' --wait --timeout 5m", guide);
        Assert.Contains("kubectl -n demo create configmap hello-node-code --from-file=examples/hello-node/src", guide);

        // The function namespace exists before the first install that puts a NetworkPolicy into it.
        Assert.True(guide.IndexOf("for ns in fn-system demo; do", StringComparison.Ordinal)
            is var create and >= 0 && create < guide.IndexOf("'networkPolicy.functionNamespaces={demo}'", StringComparison.Ordinal));
        var script = File.ReadAllText(Repo.At("tests", "e2e", "kind.sh"));
        Assert.Contains("--set imagePullPolicy=Never --set \"networkPolicy.functionNamespaces={$FUNCTION_NS}\"", script);
        Assert.Contains("--wait --timeout 5m", script);
    }

    [GeneratedRegex("""new\("([a-z0-9.]+)", RuntimeFamily\.\w+, Ecr \+ "([a-z0-9.:]+)"\),""")]
    private static partial Regex CodeEntry();

    [GeneratedRegex(@"^\| `([a-z0-9.]+)` \| `([^`]+)` \|$", RegexOptions.Multiline)]
    private static partial Regex DocRow();

    [GeneratedRegex(@"`((?:charts|operator|runtime-shim|tests|examples|docs)/[A-Za-z0-9_./-]+)`")]
    private static partial Regex RepoPath();
}
