using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>
/// DeleteFunction with a qualifier (<c>aws lambda delete-function --qualifier N</c>) deletes that published version, as
/// Lambda does: 204; $LATEST → 400 "$LATEST version cannot be deleted without deleting the function."; an alias (any
/// qualifier that is not a number) → 400 "Deletion of aliases is not currently supported."; a version an alias names →
/// 409 ResourceConflictException "Unable to delete version because the following aliases reference it: [a, b]"; a number
/// that is not a version → 204, nothing deleted (what the live service answers). Without a qualifier DeleteFunction stays
/// unserved (501: delete the Function object instead).
/// </summary>
public static class VersionDeleteEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapDelete("/2015-03-31/functions/{functionName}", (HttpContext c, string functionName, string? Qualifier, FunctionRegistry functions, IVersionWriter writer) =>
            DeleteAsync(c, functions, writer, functionName, Qualifier));
        app.MapDelete("/2015-03-31/functions/{ns}/{functionName}", (HttpContext c, string ns, string functionName, string? Qualifier, FunctionRegistry functions, IVersionWriter writer) =>
            DeleteAsync(c, functions, writer, VersionEndpoints.Name(ns, functionName), Qualifier));
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, FunctionRegistry functions, IVersionWriter writer, string functionName, string? qualifier)
    {
        var name = LambdaApiEndpoints.Unescape(functionName);
        if (FunctionRegistry.QualifierConflict(name, qualifier) is { } conflict)
        {
            return LambdaErrors.InvalidParameter(conflict);
        }

        var version = string.IsNullOrEmpty(qualifier) ? FunctionNameParser.TryParse(name, out var parsed) ? parsed.Qualifier : null : qualifier;
        if (string.IsNullOrEmpty(version))
        {
            return LambdaApiEndpoints.NotImplemented(context.Request.Method, context.Request.Path);
        }

        if (!LambdaApiEndpoints.TryFind(functions, name, out var key))
        {
            return LambdaApiEndpoints.FunctionNotFound(functions, name, string.IsNullOrEmpty(qualifier) ? null : qualifier);
        }

        if (version == FunctionVersions.Latest)
        {
            return LambdaErrors.InvalidParameter("$LATEST version cannot be deleted without deleting the function.");
        }

        if (!FunctionVersions.IsPublished(version))
        {
            return LambdaErrors.InvalidParameter("Deletion of aliases is not currently supported.");
        }

        var aliases = functions.AliasesOf(key).Where(a => a.Value.Version == version || a.Value.AdditionalVersion == version).Select(a => a.Key).ToList();
        if (aliases.Count > 0)
        {
            return LambdaErrors.Error(409, "ResourceConflictException", $"Unable to delete version because the following aliases reference it: [{string.Join(", ", aliases)}]");
        }

        if (functions.HasVersion(key, version))
        {
            await writer.DeleteVersionAsync(key, version, context.RequestAborted).ConfigureAwait(false);
        }

        return Results.StatusCode(204);
    }
}
