using FnOperator.Api;
using FnOperator.Operator.Controllers;
using k8s;

namespace FnOperator.Operator.Tests.Controllers;

public sealed class LayerResolverTests
{
    // Status shaped as the generated Layer CRD defines it: versions[] of {version, codeSha256, url, createdAt}.
    private static readonly LayerStatus? Layer = KubernetesJson.Deserialize<Layer>("""
        {"status":{"latestVersion":3,"versions":[
          {"version":1,"codeSha256":"aaa","url":"https://x/l1.zip","createdAt":"2026-11-01T00:00:00Z"},
          {"version":3,"codeSha256":"ccc","url":"https://x/l3.zip","createdAt":"2026-11-03T00:00:00Z"},
          {"version":2,"codeSha256":"bbb","url":"https://x/l2.zip","createdAt":"2026-11-02T00:00:00Z"},
          {"version":4,"url":"https://x/incomplete.zip"}]}}
        """).Status;

    [Theory]
    [InlineData(null, 3, "ccc", "https://x/l3.zip")]
    [InlineData(1, 1, "aaa", "https://x/l1.zip")]
    [InlineData(2, 2, "bbb", "https://x/l2.zip")]
    public void Picks_the_named_version_or_the_highest_complete_one(int? wanted, int version, string sha, string url)
    {
        var picked = LayerResolver.PickVersion(Layer, wanted);

        Assert.NotNull(picked);
        Assert.Equal(version, picked.Version);
        Assert.Equal(sha, picked.Sha256);
        Assert.Equal(url, picked.Url);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(9)]
    public void Version_without_code_hash_or_not_published_is_not_found(int wanted) =>
        Assert.Null(LayerResolver.PickVersion(Layer, wanted));

    [Fact]
    public void Layer_without_status_has_no_version() =>
        Assert.Null(LayerResolver.PickVersion(KubernetesJson.Deserialize<Layer>("""{"spec":{}}""").Status, null));
}

public sealed class LayerLimitTests
{
    [Fact]
    public async Task More_than_five_layers_is_refused_with_the_count_before_any_layer_is_looked_up()
    {
        // The CRD already rejects six (maxItems 5); the reconciler checks too, for objects stored before that rule.
        var fn = TestFunctions.Node(change: s => s.Layers = [.. Enumerable.Range(0, 6).Select(i => new LayerReference { Name = "l" + i })]);
        var status = new FunctionStatus();
        var state = new FunctionState(fn, status, FnOperator.Operator.FunctionConditions.Set.Manage(status, 1, DateTimeOffset.UnixEpoch));
        var resolver = new LayerResolver(new Informer<Layer>("Layer", null!, TimeProvider.System, new FnOperator.Operator.Runtime.OperatorMetrics(Prometheus.Metrics.NewCustomRegistry()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance), codeSize: null!, events: null!); // neither is reached: the count fails first

        var problem = await resolver.ResolveAsync(state, CancellationToken.None);

        Assert.NotNull(problem);
        Assert.Equal((FnOperator.Operator.FunctionReasons.TooManyLayers, "Cannot reference more than 5 layers: the function lists 6."), (problem.Reason, problem.Message));
    }
}
