using System.Net;
using System.Text.Json;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Runtime;
using FnOperator.Operator.Tests.Controllers;
using FnOperator.Operator.Tests.Hosting.Gadgets;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Tests.Hosting;

/// <summary>
/// A kind the operator does not know (a test CRD) costs one reconciler file (<see cref="GadgetReconciler"/>) and the
/// registration below: it reconciles, owns a child, is re-enqueued by a watched object through an index, and writes
/// conditions and Events.
/// </summary>
public sealed class ExtraKindTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    /// <summary>The registration of the extra kind: everything a new kind adds besides its reconciler.</summary>
    internal static void AddGadgets(IServiceCollection services)
    {
        services.AddInformer<Gadget>(o => o.Index(GadgetReconciler.BySource, GadgetReconciler.SourceKeys));
        services.AddInformer(sp => ListWatch.ConfigMaps(sp.GetRequiredService<IKubernetes>(), null, sp.GetRequiredService<IOptions<OperatorOptions>>().Value.WatchNamespace));
        services.AddController<GadgetReconciler, Gadget>(b => b
            .Owns<V1ConfigMap>()
            .Watches<V1ConfigMap>(byIndex: GadgetReconciler.BySource));
    }

    public async Task InitializeAsync()
    {
        // A dependency poll far beyond the test's patience: whatever recovers here was re-enqueued by a watch.
        harness = await OperatorHarness.StartAsync(settings: ["--Operator:DependencyRetry", "01:00:00"], services: AddGadgets, crds: [Gadget.Crd]);
    }

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Extra_kind_reconciles_owns_its_child_is_reenqueued_through_an_index_and_writes_conditions_and_events()
    {
        await CreateAsync("g1", greeting: "hello", source: "src");

        await Eventually.True(async () => Condition(await GetAsync("g1"), GadgetReconciler.SourceReady) is { Status: ConditionStatus.False, Reason: "SourceNotFound" }, "SourceReady=False");
        Assert.Equal((ConditionStatus.False, "SourceNotFound"), Ready(await GetAsync("g1")));
        await harness.WaitEventAsync("g1", "Warning", "SourceNotFound");
        Assert.Null(await ChildAsync("g1"));

        // The source appearing re-enqueues g1 through the Gadget-by-source index (the dependency poll is an hour away).
        await harness.Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "src" }, Data = new Dictionary<string, string> { ["value"] = "1" } }, "default");

        await Eventually.True(async () => Ready(await GetAsync("g1")) == (ConditionStatus.True, "ChildUpToDate"), "g1 Ready");
        var gadget = (await GetAsync("g1"))!;
        var child = (await ChildAsync("g1"))!;
        Assert.Equal(new Dictionary<string, string> { ["greeting"] = "hello", ["value"] = "1" }, child.Data);
        var owner = Assert.Single(child.Metadata.OwnerReferences);
        Assert.Equal((gadget.Metadata.Uid, true), (owner.Uid, owner.Controller == true));
        Assert.Equal(gadget.Metadata.Generation, gadget.Status!.ObservedGeneration);
        await harness.WaitEventAsync("g1", "Normal", "CreatedConfigMap");

        // A change of the watched source rolls into the child; a deleted child comes back (owned).
        await harness.Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"value":"2"}}""", V1Patch.PatchType.MergePatch), "src", "default");
        await Eventually.True(async () => (await ChildAsync("g1"))?.Data?["value"] == "2", "child follows the source");
        var uid = (await ChildAsync("g1"))!.Metadata.Uid;
        await harness.Client.CoreV1.DeleteNamespacedConfigMapAsync("g1-child", "default");
        await Eventually.True(async () => (await ChildAsync("g1"))?.Metadata.Uid is { } now && now != uid, "child recreated");
        Assert.Equal(0, harness.Replicas[0].Metrics.ReconcileCount("Gadget", "error"));
    }

    [Fact]
    public void A_kind_gets_one_controller_and_one_informer()
    {
        var services = new ServiceCollection();
        AddGadgets(services);

        var controller = Assert.Throws<InvalidOperationException>(() => services.AddController<GadgetReconciler, Gadget>());
        var informer = Assert.Throws<InvalidOperationException>(() => services.AddInformer<Gadget>());

        Assert.Contains("one controller per kind", controller.Message, StringComparison.Ordinal);
        Assert.Contains("Gadget is already registered", informer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Docs_show_this_registration_word_for_word()
    {
        var source = File.ReadAllText(System.IO.Path.Combine(RepoRoot.Path, "tests", "FnOperator.Operator.Tests", "Hosting", "ExtraKindTests.cs"));
        var start = source.IndexOf("void AddGadgets(IServiceCollection services)", StringComparison.Ordinal);
        var body = source[(source.IndexOf('{', start) + 1)..source.IndexOf("\n    }", start, StringComparison.Ordinal)];
        var doc = File.ReadAllText(System.IO.Path.Combine(RepoRoot.Path, "docs", "operator.md"));
        var section = doc[doc.IndexOf("### Adding a kind", StringComparison.Ordinal)..];
        var block = section[(section.IndexOf("```csharp", StringComparison.Ordinal) + "```csharp".Length)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];

        Assert.Contains("AddController<GadgetReconciler, Gadget>", block, StringComparison.Ordinal);
        Assert.Equal(Code(body), Code(block));

        static string Code(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
    }

    private static V1Condition? Condition(Gadget? gadget, string type) => gadget?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    private static (string?, string?) Ready(Gadget? gadget) => Condition(gadget, ConditionTypes.Ready) is { } c ? (c.Status, c.Reason) : (null, null);

    private Task<object> CreateAsync(string name, string greeting, string source) =>
        harness.Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            new Gadget { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" }, Spec = new GadgetSpec { Greeting = greeting, Source = source } },
            Gadget.Group, "v1", "default", "gadgets");

    private async Task<Gadget?> GetAsync(string name) =>
        KubernetesJson.Deserialize<Gadget>((JsonElement)await harness.Client.CustomObjects.GetNamespacedCustomObjectAsync(Gadget.Group, "v1", "default", "gadgets", name));

    private async Task<V1ConfigMap?> ChildAsync(string name)
    {
        try
        {
            return await harness.Client.CoreV1.ReadNamespacedConfigMapAsync(name + "-child", "default");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
