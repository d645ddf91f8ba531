using System.Text.Json;
using FnOperator.Api;
using FnOperator.KubeApiServer;
using FnOperator.Operator.Runtime;
using FnOperator.Operator.Tests.Hosting.Gadgets;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FnOperator.Operator.Tests.Runtime;

/// <summary>
/// StatusWriter against the API test server (a Gadget, no operator running): what a 409 does. A status computed from a
/// copy whose status the API has moved past is not written (the caller reconciles again from the newer one); a copy
/// that is behind only in its metadata gets its status written after the re-read.
/// </summary>
public sealed class StatusWriterTests : IAsyncLifetime
{
    private KubeApiTestServer server = null!;
    private IKubernetes client = null!;
    private StatusWriter writer = null!;

    public async Task InitializeAsync()
    {
        server = await KubeApiTestServer.StartAsync();
        client = server.CreateClient();
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(Gadget.Crd);
        writer = new StatusWriter(client, NullLogger<StatusWriter>.Instance);
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_status_computed_from_a_copy_whose_status_the_api_has_moved_past_is_not_written()
    {
        await CreateAsync("g");
        var stale = await GetAsync("g");
        Assert.True(await writer.WriteAsync(await GetAsync("g"), new GadgetStatus { Child = "first", ObservedGeneration = 1 }, default));

        // Computed from the copy read before "first" was written: its 409 must not put it over "first".
        var written = await writer.WriteAsync(stale, new GadgetStatus { Child = "from-the-past", ObservedGeneration = 1 }, default);

        Assert.False(written);
        Assert.Equal("first", (await GetAsync("g")).Status!.Child);
    }

    [Fact]
    public async Task A_status_computed_from_a_copy_behind_only_in_its_labels_is_written_after_the_conflict()
    {
        await CreateAsync("g");
        var behind = await GetAsync("g");
        var labelled = await GetAsync("g");
        labelled.Metadata.Labels = new Dictionary<string, string> { ["team"] = "a" };
        await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(labelled, Gadget.Group, "v1", "default", "gadgets", "g");

        var written = await writer.WriteAsync(behind, new GadgetStatus { Child = "now", ObservedGeneration = 1 }, default);

        Assert.True(written);
        var after = await GetAsync("g");
        Assert.Equal(("now", "a"), (after.Status!.Child, after.Metadata.Labels["team"]));
    }

    private async Task CreateAsync(string name) => await client.CustomObjects.CreateNamespacedCustomObjectAsync(
        new Gadget { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" }, Spec = new GadgetSpec { Greeting = "hi", Source = "src" } },
        Gadget.Group, "v1", "default", "gadgets");

    private async Task<Gadget> GetAsync(string name) =>
        KubernetesJson.Deserialize<Gadget>((JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync(Gadget.Group, "v1", "default", "gadgets", name));
}
