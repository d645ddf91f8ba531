using FnOperator.Gateway.Local;
using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>Local mode checks spec.url as the CRD does and names the file and the field of each problem.</summary>
public sealed class UrlManifestValidationTests : IDisposable
{
    private readonly TempManifests dir = new();

    public static TheoryData<string, string, string> BadUrls => new()
    {
        { "url:\n  authType: OPEN", "spec.url.authType", "must be one of NONE, AWS_IAM (got 'OPEN')" },
        { "url:\n  invokeMode: STREAM", "spec.url.invokeMode", "must be one of BUFFERED, RESPONSE_STREAM" },
        { "url:\n  payloadFormat: \"3.0\"", "spec.url.payloadFormat", "must be one of 2.0, 1.0, alb" },
        { "url:\n  qualifier: \"7\"", "spec.url.qualifier", "must match" },
        { "url:\n  qualifier: \"live!\"", "spec.url.qualifier", "must match" },
        { "url:\n  cors:\n    maxAge: 90000", "spec.url.cors.maxAge", "must be between 0 and 86400 (got 90000)" },
        { "url:\n  cors:\n    allowMethods: [GET, POST, PUT, PATCH, DELETE, HEAD, GET]", "spec.url.cors.allowMethods", "must have at most 6 items (got 7)" },
        { "url:\n  cors:\n    allowMethods: [CONNECTX]", "spec.url.cors.allowMethods[0]", "must be at most 6 characters (got 8)" },
        { $"url:\n  cors:\n    allowOrigins: [\"https://{new string('a', 260)}.example\"]", "spec.url.cors.allowOrigins[0]", "must be at most 253 characters" },
    };

    [Theory]
    [MemberData(nameof(BadUrls))]
    public void Bad_spec_url_is_reported_with_file_and_field(string url, string field, string message)
    {
        var file = dir.NodeFunction("fn", "web", url);

        var set = ManifestLoader.Load(file);

        Assert.Empty(set.Functions);
        var problem = Assert.Single(set.Problems);
        Assert.Equal(field, problem.Field);
        Assert.Contains(message, problem.Message, StringComparison.Ordinal);
        Assert.StartsWith(ManifestLoader.DisplayPath(file), problem.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("url:\n  qualifier: live")]
    [InlineData("url:\n  qualifier: $LATEST")]
    [InlineData("url:\n  authType: AWS_IAM\n  invokeMode: RESPONSE_STREAM\n  payloadFormat: alb\n  cors:\n    allowOrigins: [\"*\"]\n    allowMethods: [\"*\"]\n    maxAge: 86400")]
    [InlineData("")]
    public void Valid_spec_url_is_served(string url)
    {
        var file = dir.NodeFunction("fn", "web", url);

        var set = ManifestLoader.Load(file);

        Assert.Empty(set.Problems);
        Assert.Single(set.Functions);
    }

    public void Dispose() => dir.Dispose();
}
