using FnOperator.Api;

namespace FnOperator.Gateway.Urls;

/// <summary>A Function URL's settings with Lambda's defaults filled in (NONE, BUFFERED, $LATEST, payload 2.0, no CORS).</summary>
public sealed record UrlConfig(string AuthType, string InvokeMode, string? Qualifier, string PayloadFormat, FunctionUrlCors? Cors)
{
    public static UrlConfig Defaults { get; } = new(FunctionUrls.AuthNone, FunctionUrls.Buffered, null, FunctionUrls.Format20, null);

    /// <summary>
    /// The URL of a function: its spec.url; without one, the defaults when <paramref name="everyFunction"/> (local
    /// mode serves every function's URL), else null (in a cluster only Functions with spec.url have a URL).
    /// </summary>
    public static UrlConfig? For(FunctionSpec spec, bool everyFunction)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Url is not { } url)
        {
            return everyFunction ? Defaults : null;
        }

        return new UrlConfig(
            url.AuthType ?? FunctionUrls.AuthNone,
            url.InvokeMode ?? FunctionUrls.Buffered,
            string.IsNullOrEmpty(url.Qualifier) || url.Qualifier == Functions.FunctionRegistry.Latest ? null : url.Qualifier,
            url.PayloadFormat ?? FunctionUrls.Format20,
            url.Cors);
    }
}
