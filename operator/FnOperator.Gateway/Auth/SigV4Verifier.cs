using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace FnOperator.Gateway.Auth;

/// <summary>A request as SigV4 sees it: method, raw path and query (as sent, still percent-encoded) and headers.</summary>
public sealed record SignedRequest(string Method, string RawPath, string RawQuery, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>True when the request carries SigV4 in the Authorization header or in the query (presigned URL).</summary>
    public bool IsSigV4 => (Header("Authorization")?.StartsWith(SigV4Canonical.Algorithm, StringComparison.Ordinal) ?? false) || IsPresigned;

    public bool IsPresigned => RawQuery.Contains("X-Amz-Signature=", StringComparison.Ordinal);
}

/// <summary>What a SigV4 check is configured with: the scope to accept and the clock window.</summary>
public sealed record SigV4Settings(string Region, string Service = "lambda")
{
    /// <summary>Lambda accepts a signature dated up to 15 minutes before or after its clock.</summary>
    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Path normalization: true for every AWS service but S3.</summary>
    public bool NormalizePath { get; init; } = true;

    /// <summary>Accept x-amz-content-sha256: UNSIGNED-PAYLOAD on header-signed requests (presigned URLs always may).</summary>
    public bool AllowUnsignedPayload { get; init; }
}

/// <summary>The outcome: the key's identity, or the AWS error type and message to answer 403 with.</summary>
public sealed record SigV4Result(AccessKey? Key, string? ErrorType, string? Message)
{
    public bool Succeeded => Key is not null;

    public static SigV4Result Fail(string errorType, string message) => new(null, errorType, message);
}

/// <summary>
/// Verifies AWS Signature Version 4 (header or query-string presigned): scope, date window, signed headers, payload
/// hash, and the signature compared in constant time. Pure apart from the key lookup; the clock is passed in.
/// </summary>
public sealed class SigV4Verifier(SigV4Settings settings, IAccessKeyStore keys)
{
    private const int MaxPresignSeconds = 604800;

    /// <param name="bodyHash">Hex SHA-256 of the body as received (null when the body was not read: unsigned payload).</param>
    public async ValueTask<SigV4Result> VerifyAsync(SignedRequest request, string? bodyHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var parsed = request.IsPresigned ? ParseQuery(request) : ParseHeader(request);
        if (parsed.Error is { } error)
        {
            return error;
        }

        var (credential, signedHeaders, signature, amzDate, expires, _) = parsed;
        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return Incomplete($"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'");
        }

        if (!SigV4Canonical.TryParseDate(amzDate, out var signedAt))
        {
            return Incomplete($"Date must be in ISO-8601 'basic format'. Got '{amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601");
        }

        if (Skew(signedAt, expires, now) is { } skew)
        {
            return skew;
        }

        var key = await keys.FindAsync(scope[0], cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            return SigV4Result.Fail(AuthErrors.UnrecognizedClient, AuthErrors.UnrecognizedClientMessage);
        }

        if (scope[1] != amzDate[..8])
        {
            return SigV4Result.Fail(AuthErrors.InvalidSignature, $"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope[1]}' != '{amzDate[..8]}', from '{amzDate}'.");
        }

        if (scope[2] != settings.Region)
        {
            return SigV4Result.Fail(AuthErrors.InvalidSignature, $"Credential should be scoped to a valid region, not '{scope[2]}'. ");
        }

        if (scope[3] != settings.Service)
        {
            return SigV4Result.Fail(AuthErrors.InvalidSignature, $"Credential should be scoped to correct service: '{settings.Service}'. ");
        }

        var payloadHashes = PayloadHashes(request, bodyHash);
        if (payloadHashes.Count == 0)
        {
            return SigV4Result.Fail(AuthErrors.InvalidSignature, request.Header("x-amz-content-sha256") == SigV4Canonical.UnsignedPayload
                ? "The payload must be signed: UNSIGNED-PAYLOAD is not accepted in the Authorization header here."
                : AuthErrors.InvalidSignatureMessage);
        }

        var signingKey = SigV4Canonical.SigningKey(key.SecretAccessKey, scope[1], scope[2], scope[3]);
        var uri = SigV4Canonical.CanonicalUri(request.RawPath, settings.NormalizePath);
        var query = SigV4Canonical.CanonicalQuery(request.RawQuery, excludeSignature: request.IsPresigned);
        var headers = SigV4Canonical.CanonicalHeaders(request.Headers, signedHeaders);
        var provided = Encoding.ASCII.GetBytes(signature.ToLowerInvariant());
        var matched = false;
        foreach (var payloadHash in payloadHashes)
        {
            var canonical = SigV4Canonical.CanonicalRequest(request.Method, uri, query, headers, signedHeaders, payloadHash);
            var expected = SigV4Canonical.Signature(signingKey, SigV4Canonical.StringToSign(amzDate, string.Join('/', scope[1..]), canonical));
            matched |= CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), provided);
        }

        return matched ? new SigV4Result(key, null, null) : SigV4Result.Fail(AuthErrors.InvalidSignature, AuthErrors.InvalidSignatureMessage);
    }

    /// <summary>The payload hashes the signer may have used (none: reject); a claimed x-amz-content-sha256 must match the body unless unsigned.</summary>
    private List<string> PayloadHashes(SignedRequest request, string? bodyHash)
    {
        var claimed = request.Header("x-amz-content-sha256");
        if (request.IsPresigned)
        {
            return claimed == SigV4Canonical.UnsignedPayload || bodyHash is null ? [SigV4Canonical.UnsignedPayload] : [bodyHash, SigV4Canonical.UnsignedPayload];
        }

        if (claimed == SigV4Canonical.UnsignedPayload)
        {
            return settings.AllowUnsignedPayload ? [SigV4Canonical.UnsignedPayload] : [];
        }

        // A claimed x-amz-content-sha256 that is not the body's hash: the signature covers the claim, not this body.
        return claimed is not null && bodyHash is not null && !string.Equals(claimed, bodyHash, StringComparison.OrdinalIgnoreCase)
            ? []
            : [bodyHash ?? claimed ?? SigV4Canonical.EmptyPayloadHash];
    }

    private SigV4Result? Skew(DateTimeOffset signedAt, int? expires, DateTimeOffset now)
    {
        var signed = SigV4Canonical.FormatDate(signedAt);
        var minutes = settings.MaxSkew.TotalMinutes.ToString("0.##", CultureInfo.InvariantCulture);
        if (signedAt > now + settings.MaxSkew)
        {
            return SigV4Result.Fail(AuthErrors.InvalidSignature,
                $"Signature not yet current: {signed} is still later than {SigV4Canonical.FormatDate(now + settings.MaxSkew)} ({SigV4Canonical.FormatDate(now)} + {minutes} min.)");
        }

        if (expires is { } seconds)
        {
            return signedAt.AddSeconds(seconds) < now
                ? SigV4Result.Fail(AuthErrors.InvalidSignature,
                    $"Signature expired: {signed} is now earlier than {SigV4Canonical.FormatDate(now.AddSeconds(-seconds))} ({SigV4Canonical.FormatDate(now)} - {seconds} sec.)")
                : null;
        }

        return signedAt < now - settings.MaxSkew
            ? SigV4Result.Fail(AuthErrors.InvalidSignature,
                $"Signature expired: {signed} is now earlier than {SigV4Canonical.FormatDate(now - settings.MaxSkew)} ({SigV4Canonical.FormatDate(now)} - {minutes} min.)")
            : null;
    }

    private static Parsed ParseHeader(SignedRequest request)
    {
        var header = request.Header("Authorization")!;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in header[SigV4Canonical.Algorithm.Length..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                fields[part[..eq].Trim()] = part[(eq + 1)..].Trim();
            }
        }

        var missing = new[] { "Credential", "SignedHeaders", "Signature" }.Where(f => !fields.ContainsKey(f)).ToList();
        if (!header.StartsWith(SigV4Canonical.Algorithm + " ", StringComparison.Ordinal) || missing.Count > 0)
        {
            return Parsed.Failed(Incomplete(string.Join(' ', missing.Select(f => $"Authorization header requires '{f}' parameter.")) + $" Authorization={header.Split(' ')[0]}"));
        }

        var amzDate = request.Header("X-Amz-Date");
        var signedHeaders = fields["SignedHeaders"].Split(';');
        if (amzDate is null && request.Header("Date") is { } date && DateTimeOffset.TryParse(date, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsedDate))
        {
            amzDate = SigV4Canonical.FormatDate(parsedDate);
        }

        return Check(fields["Credential"], signedHeaders, fields["Signature"], amzDate, expires: null, request.Header("X-Amz-Date") is null ? "date" : "x-amz-date");
    }

    private static Parsed ParseQuery(SignedRequest request)
    {
        var query = request.RawQuery.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .GroupBy(p => Uri.UnescapeDataString(p[0]), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Uri.UnescapeDataString(g.First().ElementAtOrDefault(1) ?? ""), StringComparer.Ordinal);
        string? Get(string name) => query.GetValueOrDefault(name);
        var missing = new[] { "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires" }.Where(n => Get(n) is null).ToList();
        if (missing.Count > 0 || Get("X-Amz-Algorithm") != SigV4Canonical.Algorithm)
        {
            return Parsed.Failed(Incomplete(missing.Count > 0 ? $"AWS query-string parameters missing: {string.Join(", ", missing)}." : "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""));
        }

        if (!int.TryParse(Get("X-Amz-Expires"), NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires is < 1 or > MaxPresignSeconds)
        {
            return Parsed.Failed(Incomplete($"X-Amz-Expires must be between 1 and {MaxPresignSeconds} seconds."));
        }

        return Check(Get("X-Amz-Credential")!, Get("X-Amz-SignedHeaders")!.Split(';'), Get("X-Amz-Signature")!, Get("X-Amz-Date"), expires, dateHeader: null);
    }

    private static Parsed Check(string credential, string[] signedHeaders, string signature, string? amzDate, int? expires, string? dateHeader)
    {
        if (amzDate is null)
        {
            return Parsed.Failed(Incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."));
        }

        if (!signedHeaders.Contains("host") || (dateHeader is not null && !signedHeaders.Contains(dateHeader)))
        {
            return Parsed.Failed(Incomplete($"'Host' and the date header ('{dateHeader ?? "host"}') must be signed. SignedHeaders={string.Join(';', signedHeaders)}"));
        }

        if (!signedHeaders.SequenceEqual(signedHeaders.Order(StringComparer.Ordinal)) || signedHeaders.Any(h => h.Length == 0 || h != h.ToLowerInvariant()))
        {
            return Parsed.Failed(Incomplete("SignedHeaders must be lowercase, sorted and separated by ';'."));
        }

        return new Parsed(credential, signedHeaders, signature, amzDate, expires);
    }

    private static SigV4Result Incomplete(string message) => SigV4Result.Fail(AuthErrors.IncompleteSignature, message);

    private sealed record Parsed(string Credential, string[] SignedHeaders, string Signature, string AmzDate, int? Expires, SigV4Result? Error = null)
    {
        public static Parsed Failed(SigV4Result error) => new("", [], "", "", null, error);
    }
}
