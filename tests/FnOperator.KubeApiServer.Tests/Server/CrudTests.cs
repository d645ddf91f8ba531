using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

public sealed class CrudTests : ServerTest
{
    [Fact]
    public async Task Create_sets_uid_creation_timestamp_and_increasing_resource_versions()
    {
        var a = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a" }, Data = new Dictionary<string, string> { ["k"] = "v" } }, "default");
        var b = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b" } }, "default");

        Assert.False(string.IsNullOrEmpty(a.Metadata.Uid));
        Assert.NotEqual(a.Metadata.Uid, b.Metadata.Uid);
        Assert.NotNull(a.Metadata.CreationTimestamp);
        Assert.True(long.Parse(b.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) > long.Parse(a.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Null(a.Metadata.Generation); // ConfigMaps have no generation
        Assert.Equal("v", (await Client.CoreV1.ReadNamespacedConfigMapAsync("a", "default")).Data["k"]);
    }

    [Fact]
    public async Task Errors_are_status_objects_with_reason_and_code()
    {
        await CreateWidgetAsync("w");

        var exists = await StatusOfAsync(() => CreateWidgetAsync("w"));
        var missing = await StatusOfAsync(() => Client.AppsV1.ReadNamespacedDeploymentAsync("nope", "default"));

        Assert.Equal(("Status", "Failure", "AlreadyExists", 409), ((string?)exists["kind"], (string?)exists["status"], (string?)exists["reason"], (int?)exists["code"]));
        Assert.Equal("widgets.test.fnoperator.io \"w\" already exists", (string?)exists["message"]);
        Assert.Equal(("NotFound", 404, "deployments.apps \"nope\" not found"), ((string?)missing["reason"], (int?)missing["code"], (string?)missing["message"]));
        Assert.Equal("nope", (string?)missing["details"]?["name"]);
    }

    [Fact]
    public async Task Put_with_a_stale_resource_version_is_a_conflict_and_without_one_is_unconditional()
    {
        var created = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "default");
        created.Data = new Dictionary<string, string> { ["n"] = "1" };
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "c", "default");

        created.Data["n"] = "2";
        var conflict = await StatusOfAsync(() => Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "c", "default"));
        created.Metadata.ResourceVersion = null;
        var unconditional = await Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "c", "default");

        Assert.Equal(("Conflict", 409), ((string?)conflict["reason"], (int?)conflict["code"]));
        Assert.Equal("Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again", (string?)conflict["message"]);
        Assert.Equal("2", unconditional.Data["n"]);
        Assert.Equal(created.Metadata.Uid, unconditional.Metadata.Uid);
    }

    [Fact]
    public async Task Cluster_wide_list_spans_namespaces_and_namespaced_list_does_not()
    {
        await CreateWidgetAsync("a", ns: "one");
        await CreateWidgetAsync("b", ns: "two");

        var all = ToJson(await Client.CustomObjects.ListClusterCustomObjectAsync(Group, Version, Widgets));
        var one = ToJson(await Client.CustomObjects.ListNamespacedCustomObjectAsync(Group, Version, "one", Widgets));
        var namespaces = await Client.CoreV1.ListNamespaceAsync();

        Assert.Equal(["a", "b"], all["items"]!.AsArray().Select(i => (string?)i!["metadata"]!["name"]));
        Assert.Equal("WidgetList", (string?)all["kind"]);
        Assert.Equal(["a"], one["items"]!.AsArray().Select(i => (string?)i!["metadata"]!["name"]));
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "two" && n.Status.Phase == "Active"); // created on first use
    }

    [Fact]
    public async Task Leases_controller_revisions_secrets_and_services_round_trip()
    {
        var lease = await Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = "l" }, Spec = new V1LeaseSpec { HolderIdentity = "me" } }, "default");
        await Client.AppsV1.CreateNamespacedControllerRevisionAsync(new V1ControllerRevision { Metadata = new V1ObjectMeta { Name = "r" }, Revision = 3, Data = new Dictionary<string, string> { ["k"] = "v" } }, "default");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "s" }, StringData = new Dictionary<string, string> { ["a"] = "b" } }, "default");
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service { Metadata = new V1ObjectMeta { Name = "svc" }, Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }] } }, "default");

        lease.Spec.HolderIdentity = "you";
        Assert.Equal("you", (await Client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "l", "default")).Spec.HolderIdentity);
        Assert.Equal(3, (await Client.AppsV1.ReadNamespacedControllerRevisionAsync("r", "default")).Revision);
        Assert.Equal("b", (await Client.CoreV1.ReadNamespacedSecretAsync("s", "default")).StringData["a"]);
        Assert.Equal(80, (await Client.CoreV1.ReadNamespacedServiceAsync("svc", "default")).Spec.Ports[0].Port);
    }

    [Fact]
    public async Task Invalid_names_and_mismatched_namespaces_are_rejected()
    {
        var badName = await StatusOfAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "Bad_Name" } }, "default"));
        var (code, body) = await SendAsync(HttpMethod.Post, "/api/v1/namespaces/default/configmaps", new JsonObject { ["metadata"] = new JsonObject { ["name"] = "x", ["namespace"] = "other" } });

        Assert.Equal(("Invalid", 422), ((string?)badName["reason"], (int?)badName["code"]));
        Assert.StartsWith("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain", (string?)badName["message"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Equal("BadRequest", (string?)body!["reason"]);
    }

    [Fact]
    public async Task Without_auto_created_namespaces_writes_into_a_missing_namespace_are_not_found()
    {
        await using var strict = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { AutoCreateNamespaces = false });
        using var client = strict.CreateClient();

        var status = await StatusOfAsync(() => client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "nope"));
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, "default");

        Assert.Equal(("NotFound", "namespaces \"nope\" not found"), ((string?)status["reason"], (string?)status["message"]));
    }

    [Fact]
    public async Task Writes_into_a_terminating_namespace_are_forbidden()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "held", Finalizers = ["test/hold"] } }, "closing");
        await Client.CoreV1.DeleteNamespaceAsync("closing");

        var status = await StatusOfAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "new" } }, "closing"));

        Assert.Equal(("Forbidden", 403), ((string?)status["reason"], (int?)status["code"]));
        Assert.Equal("Terminating", (await Client.CoreV1.ReadNamespaceAsync("closing")).Status.Phase);
    }

    [Fact]
    public async Task Unknown_resources_are_not_found_and_generate_name_makes_a_name()
    {
        var (code, body) = await SendAsync(HttpMethod.Get, "/apis/nothing.io/v1/namespaces/default/things");
        var generated = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { GenerateName = "gen-" } }, "default");

        Assert.Equal(HttpStatusCode.NotFound, code);
        Assert.Equal("the server could not find the requested resource", (string?)body!["message"]);
        Assert.Matches("^gen-[a-z0-9]{5}$", generated.Metadata.Name);
    }
}
