namespace FnOperator.Gateway;

/// <summary>Gateway settings. Defaults are Lambda's; tests shorten the delays.</summary>
public sealed record GatewayOptions
{
    /// <summary>Addresses Kestrel listens on for the Invoke API and the pull protocol ("host:port"; port 0 = any free port).</summary>
    public IReadOnlyList<string> Listen { get; init; } = ["0.0.0.0:8080"];

    /// <summary>Optional separate address for /metrics, /healthz and /readyz (they are served on every address either way).</summary>
    public string? MetricsListen { get; init; }

    /// <summary>Region and account used in function ARNs.</summary>
    public string Region { get; init; } = Functions.FunctionRegistry.DefaultRegion;

    public string AccountId { get; init; } = Functions.FunctionRegistry.DefaultAccountId;

    /// <summary>Largest RequestResponse payload (Lambda: 6 MB).</summary>
    public long MaxSyncPayloadBytes { get; init; } = 6 * 1024 * 1024;

    /// <summary>Largest Event payload (Lambda: 1 MB).</summary>
    public long MaxAsyncPayloadBytes { get; init; } = 1024 * 1024;

    /// <summary>Delay before the first async retry; the second waits twice as long (Lambda: 1 min, then 2 min).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Added to the function timeout for a lease (ack deadline) and for how long a sync caller waits once its invocation started.</summary>
    public TimeSpan TimeoutMargin { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a sync request may wait for a worker to start it (cold start) before it is answered 429.</summary>
    public TimeSpan MaxStartWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many sync requests of one function may wait for a worker at once; more are answered 429.</summary>
    public int MaxWaitingSyncPerFunction { get; init; } = 2000;

    /// <summary>Longest long-poll a worker may ask for on the pull protocol's next endpoint.</summary>
    public TimeSpan MaxPullWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Messages a named destination queue keeps; the oldest are dropped beyond this (and counted in a metric).</summary>
    public int DestinationQueueCapacity { get; init; } = 100_000;

    /// <summary>How often queued events are checked against their maximum event age (besides the check at hand-out).</summary>
    public TimeSpan EventAgeCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many times one attempt of an Event is handed out before a further delivery counts as a failed attempt
    /// (<see cref="Queue.LeaseLost.DeliveriesExhausted"/>, Runtime.ExitError: the retry policy and destinations then
    /// apply). Each expired lease (a worker that died) or release is one more delivery; 0 = unbounded (then only the
    /// maximum event age bounds an event whose workers keep dying). On JetStream the count is the message's
    /// NumDelivered less one for a delayed retry (its early hand-out, answered with a nak for the rest of its delay).
    /// </summary>
    public int MaxEventDeliveries { get; init; } = 5;

    /// <summary>Interval of the queue's lease/delay sweep.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Invoke authentication and authorization (Auth/; docs/security.md). Off unless serve mode or --auth turns it on.</summary>
    public global::FnOperator.Gateway.Auth.AuthOptions Auth { get; init; } = global::FnOperator.Gateway.Auth.AuthOptions.Off;

    /// <summary>
    /// The cluster key: when set, the pull protocol requires each function version's credential
    /// (<see cref="FnOperator.Contracts.PullProtocol.Credential"/>) and lease tokens are signed with it (every replica must
    /// have the same key). Null: the pull protocol is open (tests and benchmarks only; serve mode requires a key).
    /// </summary>
    public byte[]? ClusterKey { get; init; }

    /// <summary>When true (serve mode) the queue-inspection endpoints (<c>/_fnop/v1/queues…</c>) need the inspection credential too.</summary>
    public bool ProtectQueueInspection { get; init; }

    /// <summary>The durable queue on NATS JetStream; null = the in-memory queue (one replica only).</summary>
    public Queue.JetStream.JetStreamOptions? JetStream { get; init; }

    /// <summary>
    /// How long a stopping gateway waits for in-flight requests (sync callers) before it exits; serve mode sets it below
    /// the pod's terminationGracePeriodSeconds (the chart's gateway.terminationGracePeriodSeconds).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The domain of host-based Function URLs, <c>{function}.{namespace}.{UrlDomain}</c> (docs/function-urls.md); null:
    /// only path-based URLs (<c>/url/{namespace}/{function}/…</c>). Serve mode reads <c>Gateway__UrlDomain</c>
    /// (config key Gateway:UrlDomain); local mode defaults to <c>localhost</c>.
    /// </summary>
    public string? UrlDomain { get; init; }

    /// <summary>
    /// True in local mode: every function has a URL (spec.url, else NONE/BUFFERED/2.0). False (serve mode): only
    /// Functions with spec.url have one.
    /// </summary>
    public bool UrlForEveryFunction { get; init; }

    /// <summary>
    /// Kestrel runs request code on the socket event threads (<see cref="Gateway.InlineIo"/>; local mode's default). The
    /// process's socket and thread-pool half is set by <see cref="Gateway.InlineIo.Configure"/> in Main.
    /// </summary>
    public bool InlineIo { get; init; }

    /// <summary>Returns the problems with these options, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Listen.Count == 0)
        {
            errors.Add("at least one listen address is required");
        }

        foreach (var address in Listen.Append(MetricsListen).OfType<string>())
        {
            if (!ListenAddress.TryParse(address, out _))
            {
                errors.Add($"listen address '{address}' is not host:port");
            }
        }

        if (MaxSyncPayloadBytes <= 0 || MaxAsyncPayloadBytes <= 0)
        {
            errors.Add("payload limits must be positive");
        }

        if (RetryBaseDelay < TimeSpan.Zero || TimeoutMargin < TimeSpan.Zero || MaxStartWait <= TimeSpan.Zero || MaxPullWait <= TimeSpan.Zero
            || EventAgeCheckInterval <= TimeSpan.Zero || SweepInterval <= TimeSpan.Zero)
        {
            errors.Add("delays must not be negative and waits must be positive");
        }

        if (ClusterKey is { Length: < FnOperator.Contracts.PullProtocol.MinClusterKeyBytes })
        {
            errors.Add($"the cluster key must be at least {FnOperator.Contracts.PullProtocol.MinClusterKeyBytes} bytes");
        }

        if (MaxWaitingSyncPerFunction < 1 || DestinationQueueCapacity < 1)
        {
            errors.Add("queue bounds must be at least 1");
        }

        if (MaxEventDeliveries < 0)
        {
            errors.Add("the maximum event deliveries must not be negative (0 = unbounded)");
        }

        if (UrlDomain is { } domain && !Urls.UrlDomainName.IsValid(domain))
        {
            errors.Add($"the URL domain '{domain}' is not a DNS name (lowercase labels of letters, digits and '-', dot-separated)");
        }

        errors.AddRange(Auth.Validate());
        return errors;
    }
}

/// <summary>A "host:port" listen address.</summary>
public static class ListenAddress
{
    public static bool TryParse(string text, out System.Net.IPEndPoint endpoint)
    {
        endpoint = null!;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
        {
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        if (host == "localhost")
        {
            host = "127.0.0.1";
        }

        if (!System.Net.IPAddress.TryParse(host, out var ip))
        {
            return false;
        }

        endpoint = new System.Net.IPEndPoint(ip, port);
        return true;
    }
}
