using FnOperator.Api;
using k8s;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Function writes against the API test server for the serve-mode version tests.</summary>
public static class ClusterFunctions
{
    /// <summary>Read, change, replace; again on 409 (the operator writes the status meanwhile, which moves resourceVersion).</summary>
    public static async Task ChangeAsync(IKubernetes client, string name, Action<FunctionSpec> change)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, name);
            change(current.Spec);
            try
            {
                await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(current, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural, name);
                return;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }
}
