using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>GET of one object (or its status/scale view) and list with label/field selectors and limit/continue.</summary>
internal sealed class ReadHandlers(ObjectStore store)
{
    public Task GetAsync(HttpContext context, ResourceType type, Route route)
    {
        var obj = store.Get(type.StorageKey, type.Namespaced ? route.Ns! : "", route.Name!) ?? throw ApiException.NotFound(type, route.Name!);
        HttpIo.AsVersion(obj, type);
        return HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, route.Subresource == "scale" ? ScaleView.From(type, obj) : obj);
    }

    public Task ListAsync(HttpContext context, ResourceType type, Route route)
    {
        var labels = LabelSelector.Parse(HttpIo.Query(context, "labelSelector"));
        var fields = FieldSelector.Parse(HttpIo.Query(context, "fieldSelector"), type);
        var limit = long.TryParse(HttpIo.Query(context, "limit"), out var l) && l > 0 ? l : long.MaxValue;
        var (items, version) = store.List(type.StorageKey, type.Namespaced ? route.Ns : null);
        var after = "";
        if (HttpIo.Query(context, "continue") is { Length: > 0 } token)
        {
            (version, after) = DecodeContinue(token);
            if (version < store.OldestWatchable)
            {
                throw ApiException.Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.");
            }
        }

        var matching = items.Where(i => string.CompareOrdinal(KeyOf(i), after) > 0 && labels.Matches(i) && fields.Matches(i)).ToList();
        var page = matching.Take((int)Math.Min(limit, int.MaxValue)).Select(i => (JsonNode)HttpIo.AsVersion(i, type)).ToList();
        var metadata = new JsonObject { ["resourceVersion"] = version.ToString(CultureInfo.InvariantCulture) };
        if (matching.Count > page.Count)
        {
            metadata["continue"] = EncodeContinue(version, KeyOf((JsonObject)page[^1]));
            metadata["remainingItemCount"] = matching.Count - page.Count;
        }

        var list = new JsonObject
        {
            ["apiVersion"] = type.ApiVersion,
            ["kind"] = type.Crd?.ListKind ?? type.Kind + "List",
            ["metadata"] = metadata,
            ["items"] = new JsonArray([.. page]),
        };
        return HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, list);
    }

    private static string KeyOf(JsonObject obj) => $"{(string?)obj["metadata"]?["namespace"]}/{(string?)obj["metadata"]?["name"]}";

    private static string EncodeContinue(long version, string key) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = version, ["start"] = key }.ToJsonString()));

    private static (long Version, string After) DecodeContinue(string token)
    {
        try
        {
            var decoded = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)))!;
            return ((long)decoded["rv"]!, (string)decoded["start"]!);
        }
        catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException or NullReferenceException)
        {
            throw ApiException.BadRequest($"continue key is not valid: {e.Message}");
        }
    }
}
