using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>/version and the discovery documents (/api, /apis, /api/v1, /apis/{group}/{version}) for served resources.</summary>
internal static class Discovery
{
    public static async Task<bool> TryHandleAsync(HttpContext context, ResourceRegistry registry)
    {
        if (context.Request.Method != "GET")
        {
            return false;
        }

        var parts = (context.Request.Path.Value ?? "").Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var types = registry.Types;
        JsonObject? body = parts switch
        {
            ["version"] => new JsonObject { ["major"] = "1", ["minor"] = "33", ["gitVersion"] = "v1.33.0-fnoperator-test", ["platform"] = "linux/amd64" },
            ["api"] => new JsonObject { ["kind"] = "APIVersions", ["versions"] = new JsonArray("v1") },
            ["apis"] => new JsonObject
            {
                ["kind"] = "APIGroupList",
                ["apiVersion"] = "v1",
                ["groups"] = new JsonArray([.. types.Where(t => t.Group.Length > 0).GroupBy(t => t.Group).Select(g => Group(g.Key, g.Select(t => t.Version).Distinct()))]),
            },
            ["api", var v] => Resources(v, types.Where(t => t.Group.Length == 0 && t.Version == v)),
            ["apis", var g, var v] => Resources($"{g}/{v}", types.Where(t => t.Group == g && t.Version == v)),
            _ => null,
        };
        if (body is null)
        {
            return false;
        }

        await HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, body);
        return true;
    }

    private static JsonObject Group(string name, IEnumerable<string> versions)
    {
        var list = versions.Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{name}/{v}", ["version"] = v }).ToList();
        return new JsonObject { ["name"] = name, ["versions"] = new JsonArray([.. list]), ["preferredVersion"] = list[0].DeepClone() };
    }

    private static JsonObject? Resources(string groupVersion, IEnumerable<ResourceType> types)
    {
        var resources = new JsonArray();
        foreach (var t in types)
        {
            resources.Add(new JsonObject
            {
                ["name"] = t.Plural,
                ["singularName"] = t.Crd?.Singular ?? t.Kind.ToLowerInvariant(),
                ["namespaced"] = t.Namespaced,
                ["kind"] = t.Kind,
                ["verbs"] = new JsonArray("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
                ["shortNames"] = new JsonArray([.. (t.Crd?.ShortNames ?? []).Select(s => JsonValue.Create(s))]),
            });
            if (t.HasStatus)
            {
                resources.Add(new JsonObject { ["name"] = t.Plural + "/status", ["namespaced"] = t.Namespaced, ["kind"] = t.Kind, ["verbs"] = new JsonArray("get", "patch", "update") });
            }

            if (t.Scale is not null)
            {
                resources.Add(new JsonObject { ["name"] = t.Plural + "/scale", ["namespaced"] = t.Namespaced, ["group"] = "autoscaling", ["version"] = "v1", ["kind"] = "Scale", ["verbs"] = new JsonArray("get", "patch", "update") });
            }
        }

        return resources.Count == 0 ? null : new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = resources };
    }
}
