using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>POST (create), PUT (replace, status, scale), PATCH (merge, JSON, strategic, apply) and DELETE.</summary>
internal sealed class WriteHandlers(ObjectStore store, ObjectWriter writer)
{
    public async Task CreateAsync(HttpContext context, ResourceType type, Route route)
    {
        var body = await HttpIo.ReadObjectAsync(context);
        var write = HttpIo.WriteOptions(context);
        var created = writer.Create(type, route.Ns, body, write);
        await HttpIo.WriteJsonAsync(context, HttpStatusCode.Created, HttpIo.AsVersion(created, type), write.Warnings);
    }

    public async Task ReplaceAsync(HttpContext context, ResourceType type, Route route)
    {
        var body = await HttpIo.ReadObjectAsync(context);
        await UpdateAsync(context, type, route, current => route.Subresource == "scale" ? ScaleView.Apply(type, current, body) : body);
    }

    public async Task PatchAsync(HttpContext context, ResourceType type, Route route)
    {
        var patch = await HttpIo.ReadJsonAsync(context);
        var contentType = context.Request.ContentType?.Split(';')[0].Trim();
        if (contentType == "application/strategic-merge-patch+json" && type.Crd is not null)
        {
            throw new ApiException(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
        }

        Func<JsonNode, JsonNode> apply = contentType switch
        {
            "application/json-patch+json" => target => JsonPatch.Apply(target, patch),
            "application/merge-patch+json" or "application/apply-patch+yaml" or "application/apply-patch+json" => target => MergePatch.Apply(target, patch)!,
            "application/strategic-merge-patch+json" => target => MergePatch.Apply(target, patch, strategic: true)!,
            _ => throw new ApiException(HttpStatusCode.UnsupportedMediaType, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"),
        };
        if (contentType!.StartsWith("application/apply-patch", StringComparison.Ordinal) && route.Subresource is null &&
            store.Get(type.StorageKey, type.Namespaced ? route.Ns! : "", route.Name!) is null && patch is JsonObject applied)
        {
            // server-side apply of an object that does not exist yet creates it (field ownership is not tracked)
            var write = HttpIo.WriteOptions(context);
            var created = writer.Create(type, route.Ns, applied, write);
            await HttpIo.WriteJsonAsync(context, HttpStatusCode.Created, HttpIo.AsVersion(created, type), write.Warnings);
            return;
        }

        await UpdateAsync(context, type, route, current =>
        {
            if (route.Subresource == "scale")
            {
                var scale = (JsonObject)apply(ScaleView.From(type, current));
                return ScaleView.Apply(type, current, scale);
            }

            var version = current["metadata"]!["resourceVersion"]!.DeepClone();
            current["metadata"]!.AsObject().Remove("resourceVersion"); // a patch is unconditional unless it sets resourceVersion itself
            var patched = apply(current) as JsonObject ?? throw ApiException.BadRequest("the patch must leave an object");
            if (patched["metadata"] is JsonObject meta && !meta.ContainsKey("resourceVersion"))
            {
                meta["resourceVersion"] = version;
            }

            return patched;
        });
    }

    public async Task DeleteAsync(HttpContext context, ResourceType type, Route route)
    {
        var options = await DeleteOptionsAsync(context);
        var (obj, deleted) = writer.Delete(type, route.Ns, route.Name!, options);
        var body = deleted && type.Crd is null && type.Plural != "customresourcedefinitions" ? ApiStatus.Success(type, obj) : HttpIo.AsVersion(obj, type);
        await HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, body);
    }

    public async Task DeleteCollectionAsync(HttpContext context, ResourceType type, Route route)
    {
        var options = await DeleteOptionsAsync(context);
        var labels = LabelSelector.Parse(HttpIo.Query(context, "labelSelector"));
        var fields = FieldSelector.Parse(HttpIo.Query(context, "fieldSelector"), type);
        var (items, version) = store.List(type.StorageKey, type.Namespaced ? route.Ns : null);
        var deleted = new JsonArray();
        foreach (var item in items.Where(i => labels.Matches(i) && fields.Matches(i)))
        {
            try
            {
                deleted.Add(HttpIo.AsVersion(writer.Delete(type, (string?)item["metadata"]!["namespace"], (string)item["metadata"]!["name"]!, options).Object, type));
            }
            catch (ApiException e) when (e.Code == HttpStatusCode.NotFound)
            {
                // deleted meanwhile
            }
        }

        var list = new JsonObject
        {
            ["apiVersion"] = type.ApiVersion,
            ["kind"] = type.Crd?.ListKind ?? type.Kind + "List",
            ["metadata"] = new JsonObject { ["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["items"] = deleted,
        };
        await HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, list);
    }

    private async Task UpdateAsync(HttpContext context, ResourceType type, Route route, Func<JsonObject, JsonObject> candidate)
    {
        var write = HttpIo.WriteOptions(context);
        var updated = writer.Update(type, route.Ns, route.Name!, route.Subresource == "scale" ? null : route.Subresource, candidate, write);
        HttpIo.AsVersion(updated, type);
        await HttpIo.WriteJsonAsync(context, HttpStatusCode.OK, route.Subresource == "scale" ? ScaleView.From(type, updated) : updated, write.Warnings);
    }

    private static async Task<DeleteOptions> DeleteOptionsAsync(HttpContext context)
    {
        var body = await HttpIo.ReadJsonAsync(context) as JsonObject;
        var policy = (string?)body?["propagationPolicy"] ?? HttpIo.Query(context, "propagationPolicy");
        var orphan = (bool?)body?["orphanDependents"] ?? (HttpIo.Query(context, "orphanDependents") is { } o ? o == "true" : null);
        if (policy is null && orphan is not null)
        {
            policy = orphan.Value ? "Orphan" : "Background";
        }

        var dryRun = (body?["dryRun"] as JsonArray)?.Any(d => (string?)d == "All") == true || HttpIo.Query(context, "dryRun") == "All";
        return new DeleteOptions(policy, (string?)body?["preconditions"]?["uid"], (string?)body?["preconditions"]?["resourceVersion"], dryRun);
    }
}
