using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// The pieces of AWS Signature Version 4: canonical URI, query and headers, the canonical request, the string to sign,
/// the derived signing key and the signature. Checked against AWS's SigV4 test suite (tests/.../Auth/sigv4-test-suite).
/// </summary>
public static class SigV4Canonical
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";
    public const string DateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>SHA-256 of the empty string, hex.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>
    /// The canonical URI of a raw (as sent) path: for every service but S3 the path is normalized (dot segments removed,
    /// repeated slashes collapsed) and each byte but the unreserved ones and '/' is percent-encoded, so an encoded
    /// "%2F" in the path becomes "%252F" (AWS encodes the path twice for non-S3 services).
    /// </summary>
    public static string CanonicalUri(string rawPath, bool normalize)
    {
        var path = string.IsNullOrEmpty(rawPath) ? "/" : rawPath;
        if (normalize)
        {
            path = Normalize(path);
        }

        return Encode(path, keepSlash: true);
    }

    /// <summary>The canonical query string: parameters decoded, re-encoded strictly, sorted by name then value.</summary>
    public static string CanonicalQuery(string rawQuery, bool excludeSignature)
    {
        var pairs = new List<(string Name, string Value)>();
        foreach (var part in rawQuery.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = Decode(eq < 0 ? part : part[..eq]);
            var value = eq < 0 ? "" : Decode(part[(eq + 1)..]);
            if (excludeSignature && name == "X-Amz-Signature")
            {
                continue;
            }

            pairs.Add((Encode(name, keepSlash: false), Encode(value, keepSlash: false)));
        }

        pairs.Sort((a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        return string.Join('&', pairs.Select(p => $"{p.Name}={p.Value}"));
    }

    /// <summary>"name:value\n" for each signed header (values of repeated headers joined by ',', trimmed, inner spaces collapsed).</summary>
    public static string CanonicalHeaders(IReadOnlyList<KeyValuePair<string, string>> headers, IReadOnlyList<string> signedHeaders)
    {
        var text = new StringBuilder();
        foreach (var name in signedHeaders)
        {
            var values = headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => CollapseSpaces(h.Value));
            text.Append(name).Append(':').Append(string.Join(',', values)).Append('\n');
        }

        return text.ToString();
    }

    public static string CanonicalRequest(string method, string canonicalUri, string canonicalQuery, string canonicalHeaders, IReadOnlyList<string> signedHeaders, string payloadHash) =>
        $"{method}\n{canonicalUri}\n{canonicalQuery}\n{canonicalHeaders}\n{string.Join(';', signedHeaders)}\n{payloadHash}";

    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").</summary>
    public static byte[] SigningKey(string secretAccessKey, string date, string region, string service)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>The signature, lowercase hex.</summary>
    public static string Signature(byte[] signingKey, string stringToSign) =>
        Hex(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(stringToSign)));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static string FormatDate(DateTimeOffset time) => time.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);

    public static bool TryParseDate(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>RFC 3986 percent-encoding of the UTF-8 bytes, leaving A-Z a-z 0-9 - . _ ~ (and '/' when asked).</summary>
    public static string Encode(string value, bool keepSlash)
    {
        var text = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' || (keepSlash && c == '/'))
            {
                text.Append(c);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    private static string Decode(string value)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException)
        {
            return value;
        }
    }

    /// <summary>Removes "." and ".." segments and empty segments; keeps a trailing slash.</summary>
    private static string Normalize(string path)
    {
        var segments = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment is "" or ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }

                continue;
            }

            segments.Add(segment);
        }

        var normalized = "/" + string.Join('/', segments);
        return segments.Count > 0 && (path.EndsWith('/') || path.EndsWith("/.", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal)) ? normalized + "/" : normalized;
    }

    private static string CollapseSpaces(string value)
    {
        var text = new StringBuilder(value.Length);
        var space = false;
        foreach (var c in value.Trim())
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                space = true;
                continue;
            }

            if (space && text.Length > 0)
            {
                text.Append(' ');
            }

            space = false;
            text.Append(c);
        }

        return text.ToString();
    }
}
