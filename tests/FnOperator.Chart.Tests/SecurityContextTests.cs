using System.Text.Json.Nodes;

namespace FnOperator.Chart.Tests;

/// <summary>Pod Security Standards "restricted" (plus a read-only root filesystem) for every pod the chart renders.</summary>
public sealed class SecurityContextTests
{
    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_pod_template_is_restricted(string valueSet)
    {
        var manifests = await ValueSets.RenderAsync(valueSet);
        var pods = manifests.PodSpecs().ToList();
        Assert.NotEmpty(pods);
        foreach (var (owner, pod) in pods)
        {
            var podContext = pod["securityContext"] as JsonObject ?? [];
            Assert.True((bool?)podContext["runAsNonRoot"] == true, $"{owner}: pod runAsNonRoot");
            Assert.NotEqual(0L, (long?)podContext["runAsUser"] ?? -1);
            Assert.Equal("RuntimeDefault", (string?)podContext["seccompProfile"]?["type"]);
            foreach (var flag in new[] { "hostNetwork", "hostPID", "hostIPC" })
            {
                Assert.NotEqual(true, (bool?)pod[flag]);
            }

            Assert.DoesNotContain(pod["volumes"]?.AsArray() ?? [], v => v?["hostPath"] is not null);
            foreach (var container in Manifests.Containers(pod))
            {
                var where = $"{owner} container {container["name"]}";
                var sc = container["securityContext"] as JsonObject;
                Assert.True(sc is not null, $"{where}: no securityContext");
                Assert.True((bool?)sc["allowPrivilegeEscalation"] == false, $"{where}: allowPrivilegeEscalation");
                Assert.True((bool?)sc["readOnlyRootFilesystem"] == true, $"{where}: readOnlyRootFilesystem");
                Assert.NotEqual(true, (bool?)sc["privileged"]);
                Assert.Equal(["ALL"], Manifests.Strings(sc["capabilities"]?["drop"]));
                Assert.Empty(Manifests.Strings(sc["capabilities"]?["add"]));
                Assert.NotEqual(0L, (long?)sc["runAsUser"] ?? -1);
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Every_container_has_probes_and_a_memory_limit(string valueSet)
    {
        var manifests = await ValueSets.RenderAsync(valueSet);
        foreach (var (owner, pod) in manifests.PodSpecs())
        {
            // Run-to-completion pods (the `helm test` pod) have no probes; every container still has limits.
            var longRunning = !owner.StartsWith("Pod/", StringComparison.Ordinal);
            foreach (var container in Manifests.Containers(pod))
            {
                var where = $"{owner} container {container["name"]}";
                Assert.True(!longRunning || container["livenessProbe"] is JsonObject, $"{where}: livenessProbe");
                Assert.True(!longRunning || container["readinessProbe"] is JsonObject, $"{where}: readinessProbe");
                Assert.True(container["resources"]?["limits"]?["memory"] is not null, $"{where}: memory limit");
                Assert.True(container["resources"]?["requests"]?["cpu"] is not null, $"{where}: cpu request");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValueSets.Names), MemberType = typeof(ValueSets))]
    public async Task Writable_tmp_is_an_emptyDir_because_the_root_filesystem_is_read_only(string valueSet)
    {
        var manifests = await ValueSets.RenderAsync(valueSet);
        foreach (var deployment in manifests.OfKind("Deployment"))
        {
            var pod = (JsonObject)deployment["spec"]!["template"]!["spec"]!;
            var tmp = (pod["volumes"]?.AsArray() ?? []).Single(v => (string?)v!["name"] == "tmp")!;
            Assert.NotNull(tmp["emptyDir"]);
            Assert.All(Manifests.Containers(pod), c => Assert.Contains(
                c["volumeMounts"]!.AsArray(), m => (string?)m!["mountPath"] == "/tmp" && (string?)m["name"] == "tmp"));
        }
    }
}
