using k8s;

namespace FnOperator.Chart.Tests;

/// <summary>
/// Rendered objects load into KubernetesClient's typed models with strict field checking: a misspelt or misplaced
/// field (e.g. `securityContext` one level off) fails here as `kubectl apply` would fail with strict field validation.
/// </summary>
public sealed class KubernetesTypeTests
{
    // Kinds outside core Kubernetes: checked by the structural tests only.
    private static readonly string[] ForeignGroups = ["monitoring.coreos.com/", "gateway.networking.k8s.io/"];

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_rendered_object_is_a_valid_typed_kubernetes_object(string valueSet)
    {
        var result = await Helm.TemplateAsync(ValueSets.All[valueSet]);
        Assert.True(result.ExitCode == 0, result.Describe());
        var documents = result.StdOut.Split("\n---", StringSplitOptions.RemoveEmptyEntries)
            .Where(d => d.Contains("kind:", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(documents);
        var loaded = 0;
        foreach (var document in documents)
        {
            var parsed = Manifests.Parse(document).All.Single();
            var apiVersion = (string?)parsed["apiVersion"] ?? "";
            if (ForeignGroups.Any(g => apiVersion.StartsWith(g, StringComparison.Ordinal)))
            {
                continue;
            }

            var objects = KubernetesYaml.LoadAllFromString(document, null, strict: true);
            var obj = Assert.Single(objects);
            Assert.Equal(Manifests.Kind(parsed), ((IKubernetesObject)obj).Kind);
            loaded++;
        }

        Assert.True(loaded > 10, $"only {loaded} objects loaded");
    }

    [Fact]
    public void Strict_loading_rejects_a_misplaced_field()
    {
        const string yaml = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: x}
            spec:
              selector: {matchLabels: {a: b}}
              template:
                metadata: {labels: {a: b}}
                spec:
                  containers:
                    - name: c
                      image: i
                      runAsNonRoot: true
            """;
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(yaml, null, strict: true));
    }
}
