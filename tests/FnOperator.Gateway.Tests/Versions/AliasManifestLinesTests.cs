using FnOperator.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Local;
using k8s.Models;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Local mode's Alias manifests: each gets a start line saying what it routes to, or why it is not registered.</summary>
public sealed class AliasManifestLinesTests
{
    [Fact]
    public void Each_alias_manifest_gets_a_line_with_its_routing_or_its_problem()
    {
        var functions = new FunctionRegistry();
        var key = new FunctionKey("default", "shop");
        functions.Upsert(key, Versions.VersionWorkers.Spec(128));
        functions.PublishVersion(key, "1", Versions.VersionWorkers.Spec(128));
        functions.PublishVersion(key, "2", Versions.VersionWorkers.Spec(256));

        var lines = VersionAliasManifests.Register(functions,
        [
            Alias("live", "shop", "1", ("2", 0.1)),
            Alias("stable", "shop", "2"),
            Alias("later", "shop", "7"),
            Alias("nowhere", "ghost", "1"),
        ]);

        Assert.Equal(
        [
            "Alias live: shop:live runs version 1, 10% version 2",
            "Alias stable: shop:stable runs version 2",
            "Alias later: default/shop has no version 7 yet; publish it (aws lambda publish-version) and restart (VersionNotFound)",
            "Alias nowhere: Function default/ghost is not served (FunctionNotFound)",
        ], lines);
        Assert.True(functions.TryGetAlias(key, "live", out var live));
        Assert.Equal(new AliasRoute("1", "2", 0.1), live);
        Assert.False(functions.TryGetAlias(key, "later", out _));
    }

    private static Alias Alias(string name, string function, string version, (string Version, double Weight)? extra = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new AliasSpec
        {
            FunctionName = function,
            FunctionVersion = version,
            RoutingConfig = extra is { } e ? new AliasRoutingConfig { AdditionalVersionWeights = new() { [e.Version] = e.Weight } } : null,
        },
    };
}
