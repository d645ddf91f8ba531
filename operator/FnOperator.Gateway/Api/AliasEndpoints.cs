using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>CreateAlias, GetAlias, ListAliases, UpdateAlias and DeleteAlias in Lambda's REST shapes and error texts.</summary>
public static class AliasEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/2015-03-31/functions/{functionName}/aliases", "/2015-03-31/functions/{ns}/{functionName}/aliases" })
        {
            app.MapGet(prefix, (string functionName, string? ns, FunctionRegistry functions) => List(functions, VersionEndpoints.Name(ns, functionName)));
            app.MapPost(prefix, (HttpContext c, string functionName, string? ns, FunctionRegistry functions, IVersionWriter writer) =>
                CreateAsync(functions, writer, VersionEndpoints.Name(ns, functionName), c));
            app.MapGet(prefix + "/{alias}", (string functionName, string? ns, string alias, FunctionRegistry functions) =>
                Get(functions, VersionEndpoints.Name(ns, functionName), alias));
            app.MapPut(prefix + "/{alias}", (HttpContext c, string functionName, string? ns, string alias, FunctionRegistry functions, IVersionWriter writer) =>
                UpdateAsync(functions, writer, VersionEndpoints.Name(ns, functionName), alias, c));
            app.MapDelete(prefix + "/{alias}", (HttpContext c, string functionName, string? ns, string alias, FunctionRegistry functions, IVersionWriter writer) =>
                DeleteAsync(functions, writer, VersionEndpoints.Name(ns, functionName), alias, c.RequestAborted));
        }
    }

    private static IResult List(FunctionRegistry functions, string functionName)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        return Results.Json(new JsonObject
        {
            ["Aliases"] = new JsonArray([.. functions.AliasesOf(key).Select(a => (JsonNode)LambdaShapes.Alias(functions, key, a.Key, a.Value))]),
        });
    }

    private static IResult Get(FunctionRegistry functions, string functionName, string alias)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        return functions.TryGetAlias(key, alias, out var route)
            ? Results.Json(LambdaShapes.Alias(functions, key, alias, route))
            : LambdaErrors.Error(404, "ResourceNotFoundException", $"Cannot find alias arn: {LambdaShapes.AliasArn(functions, key, alias)}");
    }

    private static async Task<IResult> CreateAsync(FunctionRegistry functions, IVersionWriter writer, string functionName, HttpContext context)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        var body = await VersionEndpoints.ReadBodyAsync(context).ConfigureAwait(false);
        var name = (string?)body?["Name"];
        var version = (string?)body?["FunctionVersion"];
        if (body is null || !AliasRules.IsValidName(name) || string.IsNullOrEmpty(version))
        {
            return LambdaErrors.InvalidParameter("CreateAlias needs Name (1-128 letters, digits, - or _, not all digits) and FunctionVersion.");
        }

        if (functions.TryGetAlias(key, name!, out _))
        {
            return LambdaErrors.Error(409, "ResourceConflictException", $"Alias already exists: {LambdaShapes.AliasArn(functions, key, name!)}");
        }

        return await WriteAsync(functions, writer, key, name!, version, body, null, StatusCodes.Status201Created, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<IResult> UpdateAsync(FunctionRegistry functions, IVersionWriter writer, string functionName, string alias, HttpContext context)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        if (!functions.TryGetAlias(key, alias, out var current))
        {
            return LambdaErrors.Error(404, "ResourceNotFoundException", $"Alias not found: {LambdaShapes.AliasArn(functions, key, alias)}");
        }

        var body = await VersionEndpoints.ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            return LambdaErrors.InvalidContent("Could not parse request body into json.");
        }

        if ((string?)body["RevisionId"] is { Length: > 0 } revision && revision != LambdaShapes.AliasRevision(current))
        {
            return VersionEndpoints.PreconditionFailed("GetFunction");
        }

        return await WriteAsync(functions, writer, key, alias, (string?)body["FunctionVersion"] ?? current.Version, body, current, StatusCodes.Status200OK, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Validates the versions and routing (Lambda's rules and texts), writes the alias and answers its configuration.</summary>
    private static async Task<IResult> WriteAsync(
        FunctionRegistry functions, IVersionWriter writer, FunctionKey key, string name, string version, JsonObject body, AliasRoute? current, int status, CancellationToken ct)
    {
        Dictionary<string, double>? weights;
        if (body["RoutingConfig"] is JsonObject routing)
        {
            weights = [];
            foreach (var (extra, weight) in routing["AdditionalVersionWeights"] as JsonObject ?? [])
            {
                if (weight is not JsonValue value || !value.TryGetValue<double>(out var w))
                {
                    return LambdaErrors.InvalidParameter($"The weight of version {extra} must be a number.");
                }

                weights[extra] = w;
            }
        }
        else
        {
            weights = current?.AdditionalVersion is { } kept && version != kept ? new() { [kept] = current.AdditionalWeight } : null;
        }

        if (AliasRules.RoutingError(version, weights) is { } error)
        {
            return LambdaErrors.InvalidParameter(error);
        }

        foreach (var named in new[] { version }.Concat(weights?.Keys ?? Enumerable.Empty<string>()))
        {
            if (!functions.HasVersion(key, named))
            {
                return LambdaErrors.NotFound($"{functions.ArnOf(key)}:{named}");
            }
        }

        var extraVersion = weights is { Count: 1 } ? weights.Keys.First() : null;
        var route = new AliasRoute(version, extraVersion, extraVersion is null ? 0 : weights![extraVersion])
        {
            Description = body.ContainsKey("Description") ? (string?)body["Description"] : current?.Description,
        };
        await writer.SetAliasAsync(key, name, route, ct).ConfigureAwait(false);
        return Results.Json(LambdaShapes.Alias(functions, key, name, route), statusCode: status);
    }

    private static async Task<IResult> DeleteAsync(FunctionRegistry functions, IVersionWriter writer, string functionName, string alias, CancellationToken ct)
    {
        if (!LambdaApiEndpoints.TryFind(functions, functionName, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, functionName);
        }

        await writer.DeleteAliasAsync(key, alias, ct).ConfigureAwait(false);
        return Results.StatusCode(StatusCodes.Status204NoContent);
    }
}
