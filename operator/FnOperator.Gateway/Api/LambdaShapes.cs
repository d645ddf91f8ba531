using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>Lambda's REST response shapes (FunctionConfiguration, AliasConfiguration) and their revision ids.</summary>
public static class LambdaShapes
{
    /// <summary>A stable RevisionId (GUID form) of what the bytes describe: it changes whenever they change, as Lambda's does.</summary>
    public static string RevisionId(string text)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        return new Guid(hash.AsSpan(0, 16)).ToString();
    }

    /// <summary>A digest of a spec, for functions whose code has no sha256 in the spec (base64, as Lambda's CodeSha256).</summary>
    public static string Digest(FunctionSpec spec) => Convert.ToBase64String(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(spec.Code)));

    public static string SpecRevision(FunctionSpec spec, string? codeSha256) => RevisionId(JsonSerializer.Serialize(spec) + "|" + codeSha256);

    /// <summary>GetFunctionConfiguration's body for $LATEST (<paramref name="version"/> null) or a published version.</summary>
    public static JsonObject Configuration(FunctionRegistry functions, FunctionKey key, FunctionSpec spec, string? codeSha256, PublishedVersion? version = null)
    {
        var arn = functions.ArnOf(key);
        var sha = version?.CodeSha256 ?? codeSha256;
        var body = new JsonObject
        {
            ["FunctionName"] = FunctionRegistry.DisplayName(key),
            ["FunctionArn"] = version is null ? arn : $"{arn}:{version.Version}",
            ["Runtime"] = spec.Runtime,
            ["Handler"] = spec.Handler,
            ["CodeSize"] = 0,
            ["Description"] = version?.Description ?? "",
            ["Timeout"] = spec.TimeoutSeconds,
            ["MemorySize"] = spec.MemoryMiB,
            ["CodeSha256"] = sha,
            ["Version"] = version?.Version ?? FunctionRegistry.Latest,
            ["RevisionId"] = SpecRevision(spec, sha),
            ["PackageType"] = string.IsNullOrEmpty(spec.Code.Image) ? "Zip" : "Image",
            ["State"] = "Active",
            ["LastUpdateStatus"] = "Successful",
            ["EphemeralStorage"] = new JsonObject { ["Size"] = spec.EphemeralStorageMiB },
        };
        var variables = spec.Environment?.Where(e => e.Value is not null).ToList();
        if (variables is { Count: > 0 })
        {
            body["Environment"] = new JsonObject { ["Variables"] = new JsonObject([.. variables.Select(e => KeyValuePair.Create(e.Name, (JsonNode?)e.Value))]) };
        }

        return body;
    }

    public static string AliasArn(FunctionRegistry functions, FunctionKey key, string alias) => $"{functions.ArnOf(key)}:{alias}";

    public static JsonObject Alias(FunctionRegistry functions, FunctionKey key, string name, AliasRoute route)
    {
        var body = new JsonObject
        {
            ["AliasArn"] = AliasArn(functions, key, name),
            ["Name"] = name,
            ["FunctionVersion"] = route.Version,
            ["Description"] = route.Description ?? "",
            ["RevisionId"] = AliasRevision(route),
        };
        if (route.AdditionalVersion is not null)
        {
            body["RoutingConfig"] = new JsonObject
            {
                ["AdditionalVersionWeights"] = new JsonObject { [route.AdditionalVersion] = route.AdditionalWeight },
            };
        }

        return body;
    }

    public static string AliasRevision(AliasRoute route) =>
        RevisionId(string.Create(CultureInfo.InvariantCulture, $"{route.Version}|{route.AdditionalVersion}|{route.AdditionalWeight:R}|{route.Description}"));
}
