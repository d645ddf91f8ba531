namespace FnOperator.Gateway.Auth;

/// <summary>Invoke authentication: off (anyone may call, local mode's default), SigV4 only, or required (cluster default).</summary>
public enum AuthMode
{
    /// <summary>No checks: any credentials or none (local mode's default, as before).</summary>
    Off,

    /// <summary>SigV4 against a credentials file; every valid key may call everything (local mode, <c>--auth sigv4</c>).</summary>
    SigV4,

    /// <summary>SigV4 (keys in Secrets) or a ServiceAccount bearer token, then SubjectAccessReview (serve mode's default).</summary>
    Required,
}

/// <summary>Invoke auth settings (docs/security.md, "Invoke authentication").</summary>
public sealed record AuthOptions
{
    public static AuthOptions Off { get; } = new();

    public AuthMode Mode { get; init; } = AuthMode.Off;

    /// <summary>SigV4 mode: an AWS credentials file (INI: [profile] aws_access_key_id / aws_secret_access_key).</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>Required mode: the namespace whose labelled Secrets hold the access keys (the gateway's own namespace).</summary>
    public string? AccessKeyNamespace { get; init; }

    /// <summary>Namespaces whose functions anyone may invoke without credentials (explicit; empty by default).</summary>
    public IReadOnlyList<string> AnonymousNamespaces { get; init; } = [];

    /// <summary>Accept UNSIGNED-PAYLOAD in the Authorization header form (presigned URLs always may).</summary>
    public bool AllowUnsignedPayload { get; init; }

    public TimeSpan MaxSkew { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a TokenReview result is reused.</summary>
    public TimeSpan TokenCacheTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a SubjectAccessReview decision is reused (a removed RoleBinding takes effect after this).</summary>
    public TimeSpan DecisionCacheTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the access-key Secrets are listed again (also on an unknown key id, at most every <see cref="KeyRefreshMinInterval"/>).</summary>
    public TimeSpan KeyRefreshInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan KeyRefreshMinInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Failed authentications a source may make in a burst; the allowance refills over a minute.</summary>
    public int FailureBurst { get; init; } = 20;

    /// <summary>Entries in each cache and in the failure table (bounded memory).</summary>
    public int CacheCapacity { get; init; } = 10_000;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Mode == AuthMode.SigV4 && string.IsNullOrEmpty(CredentialsFile))
        {
            errors.Add("--auth sigv4 needs --credentials FILE");
        }
        else if (Mode == AuthMode.SigV4 && !File.Exists(CredentialsFile))
        {
            errors.Add($"--credentials: '{CredentialsFile}' does not exist");
        }

        if (MaxSkew <= TimeSpan.Zero || TokenCacheTtl < TimeSpan.Zero || DecisionCacheTtl < TimeSpan.Zero || KeyRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add("auth windows and intervals must be positive");
        }

        if (FailureBurst < 1 || CacheCapacity < 1)
        {
            errors.Add("auth limits must be at least 1");
        }

        return errors;
    }

    /// <summary>Serve mode's settings from its command line: <c>--auth</c> (default required), <c>--access-key-namespace</c>, <c>--anonymous-namespaces a,b</c>.</summary>
    public static AuthOptions ForServe(IReadOnlyDictionary<string, string> values)
    {
        var mode = AuthMode.Required;
        if (values.TryGetValue("auth", out var text) && (!TryParseMode(text, out mode) || mode == AuthMode.SigV4))
        {
            throw new UsageException($"--auth: '{text}' is not required or off");
        }

        return new AuthOptions
        {
            Mode = mode,
            AccessKeyNamespace = values.GetValueOrDefault("access-key-namespace") ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "default",
            AnonymousNamespaces = (values.GetValueOrDefault("anonymous-namespaces") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }

    /// <summary>Parses a mode name: off, sigv4, required.</summary>
    public static bool TryParseMode(string text, out AuthMode mode) =>
        Enum.TryParse(text, ignoreCase: true, out mode) && Enum.IsDefined(mode) && !int.TryParse(text, out _);
}
