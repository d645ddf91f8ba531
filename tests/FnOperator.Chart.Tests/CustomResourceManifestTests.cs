using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>The Function manifests users are handed (NOTES.txt, the e2e script, the install guide) match the CRDs.</summary>
public sealed class CustomResourceManifestTests
{
    [Fact]
    public async Task Notes_function_is_accepted_by_the_function_crd()
    {
        var result = await Helm.RunAsync("install", "fn-operator", Repo.Chart, "--namespace", "fn-system", "--dry-run=client");
        Assert.True(result.ExitCode == 0, result.Describe());
        var lines = result.StdOut[result.StdOut.IndexOf("NOTES:", StringComparison.Ordinal)..].Split('\n');
        var start = Array.FindIndex(lines, l => l.Contains("<<'YAML'", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, start + 1, l => l.Trim() == "YAML");
        Assert.True(start >= 0 && end > start, "NOTES has no Function heredoc");
        var yaml = string.Join('\n', lines[(start + 1)..end].Select(l => l.Length >= 2 ? l[2..] : l));
        AssertValid(Manifests.Parse(yaml).All.Single());
    }

    [Fact]
    public async Task E2e_function_manifest_is_accepted_by_the_function_crd()
    {
        var result = await ProcessRunner.RunAsync("bash", [Repo.At("tests", "e2e", "kind.sh"), "function-manifest"]);
        Assert.True(result.ExitCode == 0, result.Describe());
        AssertValid(Manifests.Parse(result.StdOut).All.Single());
    }

    [Fact]
    public void Schema_check_reports_unknown_fields_bad_bounds_and_missing_requirements()
    {
        var bad = Manifests.Parse("""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata: {name: bad}
            spec:
              runtime: nodejs22.x
              handler: index.handler
              memoryMiB: 64
              code: {configMap: {nam: x}}
              colour: blue
            """).All.Single();
        var errors = CrdSchemaCheck.Validate(bad);
        Assert.Contains(errors, e => e.StartsWith(".spec.memoryMiB: 64 < 128", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(".spec.colour: unknown field", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith(".spec.code.configMap.nam: unknown field", StringComparison.Ordinal));
    }

    private static void AssertValid(JsonObject function)
    {
        Assert.Equal("Function", Manifests.Kind(function));
        var errors = CrdSchemaCheck.Validate(function);
        Assert.True(errors.Count == 0, string.Join('\n', errors));
    }
}
