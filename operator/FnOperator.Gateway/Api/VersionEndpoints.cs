using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>GetFunctionConfiguration, ListVersionsByFunction and PublishVersion in Lambda's REST shapes.</summary>
public static class VersionEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/2015-03-31/functions/{functionName}", "/2015-03-31/functions/{ns}/{functionName}" })
        {
            app.MapGet(prefix + "/configuration", (HttpContext c, string functionName, string? ns, string? Qualifier, FunctionRegistry functions, IVersionWriter writer) =>
                GetConfiguration(functions, writer, Name(ns, functionName), Qualifier));
            app.MapGet(prefix + "/versions", (string functionName, string? ns, FunctionRegistry functions, IVersionWriter writer) =>
                ListVersions(functions, writer, Name(ns, functionName)));
            app.MapPost(prefix + "/versions", (HttpContext c, string functionName, string? ns, FunctionRegistry functions, IVersionWriter writer) =>
                PublishAsync(functions, writer, Name(ns, functionName), c));
        }
    }

    public static string Name(string? ns, string functionName) => ns is null ? functionName : $"{ns}/{functionName}";

    public static IResult GetConfiguration(FunctionRegistry functions, IVersionWriter writer, string functionName, string? qualifier)
    {
        var name = LambdaApiEndpoints.Unescape(functionName);
        if (FunctionRegistry.QualifierConflict(name, qualifier) is { } conflict)
        {
            return LambdaErrors.InvalidParameter(conflict);
        }

        if (!functions.TryResolve(name, qualifier, out var fn))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName, qualifier);
        }

        return Results.Json(Configuration(functions, writer, fn.Key, fn.Version));
    }

    /// <summary>The configuration of $LATEST or a published version (an alias resolves to its primary version, as Lambda's does).</summary>
    public static JsonObject Configuration(FunctionRegistry functions, IVersionWriter writer, FunctionKey key, string version)
    {
        functions.TryGet(key, out var latest);
        if (version == FunctionRegistry.Latest)
        {
            return LambdaShapes.Configuration(functions, key, latest, writer.CodeSha256(key, latest));
        }

        var published = functions.VersionsOf(key).Single(v => v.Version == version);
        return LambdaShapes.Configuration(functions, key, published.Spec, published.CodeSha256, published);
    }

    private static IResult ListVersions(FunctionRegistry functions, IVersionWriter writer, string functionName)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        var versions = new JsonArray { Configuration(functions, writer, key, FunctionRegistry.Latest) };
        foreach (var version in functions.VersionsOf(key))
        {
            versions.Add(LambdaShapes.Configuration(functions, key, version.Spec, version.CodeSha256, version));
        }

        return Results.Json(new JsonObject { ["Versions"] = versions });
    }

    private static async Task<IResult> PublishAsync(FunctionRegistry functions, IVersionWriter writer, string functionName, HttpContext context)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key) || !functions.TryGet(key, out var latest))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return LambdaErrors.InvalidContent("Could not parse request body into json.");
        }

        var current = writer.CodeSha256(key, latest);
        if ((string?)body["CodeSha256"] is { Length: > 0 } given && given != current)
        {
            return LambdaErrors.InvalidParameter(
                $"CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST.");
        }

        if ((string?)body["RevisionId"] is { Length: > 0 } revision && revision != LambdaShapes.SpecRevision(latest, current))
        {
            return PreconditionFailed("GetFunction");
        }

        var published = await writer.PublishAsync(key, (string?)body["Description"], context.RequestAborted).ConfigureAwait(false);
        return Results.Json(LambdaShapes.Configuration(functions, key, published.Spec, published.CodeSha256, published), statusCode: StatusCodes.Status201Created);
    }

    public static IResult PreconditionFailed(string api) => LambdaErrors.Error(412, "PreconditionFailedException",
        $"The Revision Id provided does not match the latest Revision Id. Call the {api}/GetAlias API to retrieve the latest Revision Id");

    /// <summary>The request's JSON object (empty body = {}); null when it is not a JSON object.</summary>
    public static async Task<JsonObject?> ReadBodyAsync(HttpContext context)
    {
        var bytes = await RequestBody.ReadAsync(context.Request, 1024 * 1024, context.RequestAborted).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        if (bytes.Length == 0)
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(bytes) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
