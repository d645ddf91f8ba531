using System.Text;
using FnOperator.Gateway.Functions;
using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.Gateway.Urls;

/// <summary>
/// Which Function URL a request is for: host-based <c>{function}.{namespace}.{domain}</c> (any port) or path-based
/// <c>/url/{namespace}/{function}/{path…}</c>. <see cref="RawPath"/> is the path the function sees (for a path-based
/// request the part after the function, "/" when empty), still percent-encoded as sent; <see cref="RawQuery"/> has no '?'.
/// </summary>
public sealed record UrlRoute(FunctionKey Key, string RawPath, string RawQuery, bool HostBased)
{
    /// <summary>The first segment of a path-based URL.</summary>
    public const string PathPrefix = "/url";

    public static UrlRoute? Match(HttpContext context, string? domain)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            raw = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
        }

        var question = raw.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? raw : raw[..question];
        var query = question < 0 ? "" : raw[(question + 1)..];

        var host = context.Request.Host.Host.TrimEnd('.').ToLowerInvariant();
        if (!string.IsNullOrEmpty(domain) && host.Length > domain.Length + 1
            && host.EndsWith("." + domain, StringComparison.Ordinal))
        {
            var labels = host[..^(domain.Length + 1)].Split('.');
            return labels is [var fn, var ns] && fn.Length > 0 && ns.Length > 0
                ? new UrlRoute(new FunctionKey(ns, fn), path, query, HostBased: true)
                : null;
        }

        if (!path.StartsWith(PathPrefix + "/", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = path[(PathPrefix.Length + 1)..].Split('/', 3);
        if (parts.Length < 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            return null;
        }

        var rest = parts.Length == 3 ? "/" + parts[2] : "/";
        return new UrlRoute(new FunctionKey(Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1])), rest, query, HostBased: false);
    }
}

/// <summary>An HTTP request as the event builders need it: what arrived, with the body already read.</summary>
public sealed record UrlRequest
{
    public required string Method { get; init; }

    public required string RawPath { get; init; }

    public required string RawQuery { get; init; }

    /// <summary>Headers in arrival order, names as sent; repeated names appear more than once.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    public required byte[] Body { get; init; }

    public required string SourceIp { get; init; }

    /// <summary>"HTTP/1.1", "HTTP/2".</summary>
    public required string Protocol { get; init; }

    /// <summary>The Host header without the port.</summary>
    public required string DomainName { get; init; }

    public required string RequestId { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required string TraceId { get; init; }

    /// <summary>"http" or "https" (x-forwarded-proto), and the port the client connected to.</summary>
    public required string Scheme { get; init; }

    public required int Port { get; init; }

    public static UrlRequest From(HttpContext context, UrlRoute route, byte[] body, string requestId, DateTimeOffset time, string traceId)
    {
        var request = context.Request;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(KeyValuePair.Create(name, value ?? ""));
            }
        }

        return new UrlRequest
        {
            Method = request.Method,
            RawPath = route.RawPath,
            RawQuery = route.RawQuery,
            Headers = headers,
            Body = body,
            SourceIp = context.Connection.RemoteIpAddress is { } ip ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString() : "",
            Protocol = request.Protocol,
            DomainName = request.Host.Host,
            RequestId = requestId,
            Time = time,
            TraceId = traceId,
            Scheme = request.Scheme,
            Port = request.Host.Port ?? context.Connection.LocalPort,
        };
    }

    /// <summary>The query string split into (name, value) pairs in order; names and values percent-decoded ('+' is a space) when <paramref name="decode"/>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> QueryPairs(bool decode = true)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in RawQuery.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            pairs.Add(decode ? KeyValuePair.Create(Decode(name), Decode(value)) : KeyValuePair.Create(name, value));
        }

        return pairs;
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));

    /// <summary>
    /// True when the body is text Lambda passes as is: a textual content type (text/*, JSON, XML, JavaScript, YAML)
    /// and valid UTF-8. Anything else (form posts, images, no content type) is base64 with isBase64Encoded true.
    /// </summary>
    public bool BodyIsText()
    {
        var contentType = Headers.FirstOrDefault(h => h.Key.Equals("content-type", StringComparison.OrdinalIgnoreCase)).Value?.ToLowerInvariant() ?? "";
        var media = contentType.Split(';')[0].Trim();
        var textual = media.StartsWith("text/", StringComparison.Ordinal)
            || media is "application/json" or "application/xml" or "application/javascript" or "application/x-yaml" or "application/yaml" or "application/graphql"
            || media.EndsWith("+json", StringComparison.Ordinal) || media.EndsWith("+xml", StringComparison.Ordinal);
        if (!textual)
        {
            return false;
        }

        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(Body);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
