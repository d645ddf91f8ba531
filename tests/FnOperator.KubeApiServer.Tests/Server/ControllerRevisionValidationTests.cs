using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>apps/v1 ControllerRevision validation as the real server's ValidateControllerRevision(Update).</summary>
public sealed class ControllerRevisionValidationTests : ServerTest
{
    [Fact]
    public async Task Data_is_mandatory_and_immutable_while_the_revision_number_may_change()
    {
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() =>
            Client.AppsV1.CreateNamespacedControllerRevisionAsync(new V1ControllerRevision { Metadata = new V1ObjectMeta { Name = "no-data" }, Revision = 1 }, "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, missing.Response.StatusCode);
        Assert.Contains("data: Required value: data is mandatory", missing.Response.Content, StringComparison.Ordinal);

        var created = await Client.AppsV1.CreateNamespacedControllerRevisionAsync(
            new V1ControllerRevision { Metadata = new V1ObjectMeta { Name = "r" }, Revision = 1, Data = new Dictionary<string, string> { ["k"] = "v" } }, "default");
        created.Revision = 2;
        Assert.Equal(2, (await Client.AppsV1.ReplaceNamespacedControllerRevisionAsync(created, "r", "default")).Revision);

        var changed = await Client.AppsV1.ReadNamespacedControllerRevisionAsync("r", "default");
        changed.Data = new Dictionary<string, string> { ["k"] = "other" };
        var immutable = await Assert.ThrowsAsync<HttpOperationException>(() => Client.AppsV1.ReplaceNamespacedControllerRevisionAsync(changed, "r", "default"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, immutable.Response.StatusCode);
        Assert.Contains("field is immutable", immutable.Response.Content, StringComparison.Ordinal);
    }
}
