using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>Reading request bodies and writing JSON responses.</summary>
internal static class HttpIo
{
    public static async Task<JsonNode?> ReadJsonAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf: {e.Message}");
        }
    }

    public static async Task<JsonObject> ReadObjectAsync(HttpContext context) =>
        await ReadJsonAsync(context) as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");

    public static async Task WriteJsonAsync(HttpContext context, HttpStatusCode code, JsonNode body, IEnumerable<string>? warnings = null)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = "application/json";
        foreach (var warning in warnings ?? [])
        {
            context.Response.Headers.Append("Warning", $"299 - {JsonSerializer.Serialize(warning)}");
        }

        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    public static async Task WriteLineAsync(HttpContext context, JsonNode body, CancellationToken cancellationToken)
    {
        await context.Response.WriteAsync(body.ToJsonString() + "\n", cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }

    public static string? Query(HttpContext context, string name) =>
        context.Request.Query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    public static bool QueryFlag(HttpContext context, string name) => Query(context, name) is "true" or "1";

    public static WriteOptions WriteOptions(HttpContext context) => new(
        DryRun: Query(context, "dryRun") == "All",
        Strict: Query(context, "fieldValidation") == "Strict");

    /// <summary>Sets apiVersion to the version the client asked for (one stored copy serves every CRD version).</summary>
    public static JsonObject AsVersion(JsonObject obj, ResourceType type)
    {
        obj["apiVersion"] = type.ApiVersion;
        if (!type.AdHoc)
        {
            obj["kind"] = type.Kind;
        }

        return obj;
    }
}
