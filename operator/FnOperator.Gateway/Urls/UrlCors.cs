using System.Globalization;
using FnOperator.Api;

namespace FnOperator.Gateway.Urls;

/// <summary>
/// A Function URL's CORS (Lambda's Cors; docs/function-urls.md "CORS"). With cors configured the gateway answers
/// preflight requests itself and puts its CORS headers on every response, replacing the function's own
/// Access-Control-* headers. Without cors the function sees every request (OPTIONS too) and its headers pass as they are.
/// </summary>
public static class UrlCors
{
    /// <summary>A browser preflight: OPTIONS with Origin and Access-Control-Request-Method.</summary>
    public static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && !string.IsNullOrEmpty(request.Headers.Origin) && !string.IsNullOrEmpty(request.Headers.AccessControlRequestMethod);

    /// <summary>The headers of the gateway's answer to a preflight (200 with no body); empty when the origin is not allowed.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Preflight(FunctionUrlCors cors, HttpRequest request)
    {
        var headers = OriginHeaders(cors, request.Headers.Origin);
        if (headers.Count == 0)
        {
            return headers;
        }

        var methods = cors.AllowMethods ?? [];
        var requested = request.Headers.AccessControlRequestMethod.ToString();
        if (methods.Count > 0)
        {
            // "*" is echoed as the requested method: browsers take a literal "*" only for requests without credentials.
            headers.Add(KeyValuePair.Create("Access-Control-Allow-Methods", methods.Contains("*") ? requested : string.Join(',', methods)));
        }

        var allowHeaders = cors.AllowHeaders ?? [];
        var requestedHeaders = request.Headers.AccessControlRequestHeaders.ToString();
        if (allowHeaders.Count > 0)
        {
            headers.Add(KeyValuePair.Create("Access-Control-Allow-Headers",
                allowHeaders.Contains("*") && requestedHeaders.Length > 0 ? requestedHeaders : string.Join(',', allowHeaders)));
        }

        if (cors.MaxAge is > 0 and var maxAge)
        {
            headers.Add(KeyValuePair.Create("Access-Control-Max-Age", maxAge.ToString(CultureInfo.InvariantCulture)));
        }

        return headers;
    }

    /// <summary>The CORS headers for an actual (non-preflight) response; empty when there is no Origin or it is not allowed.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ForResponse(FunctionUrlCors cors, HttpRequest request)
    {
        var headers = OriginHeaders(cors, request.Headers.Origin);
        if (headers.Count > 0 && cors.ExposeHeaders is { Count: > 0 } expose)
        {
            headers.Add(KeyValuePair.Create("Access-Control-Expose-Headers", string.Join(',', expose)));
        }

        return headers;
    }

    /// <summary>True for the function's own headers that configured CORS replaces.</summary>
    public static bool IsCorsHeader(string name) => name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase);

    private static List<KeyValuePair<string, string>> OriginHeaders(FunctionUrlCors cors, string? origin)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(origin))
        {
            return headers;
        }

        var origins = cors.AllowOrigins ?? [];
        var any = origins.Contains("*");
        if (!any && !origins.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase)))
        {
            return headers;
        }

        var credentials = cors.AllowCredentials == true;
        // With credentials a browser refuses "*", so the origin is echoed (and the answer varies by Origin).
        headers.Add(KeyValuePair.Create("Access-Control-Allow-Origin", any && !credentials ? "*" : origin));
        if (!any || credentials)
        {
            headers.Add(KeyValuePair.Create("Vary", "Origin"));
        }

        if (credentials)
        {
            headers.Add(KeyValuePair.Create("Access-Control-Allow-Credentials", "true"));
        }

        return headers;
    }
}
