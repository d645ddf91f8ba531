namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>Where and how the gateway keeps its queue on NATS JetStream (see docs/gateway.md, "The queue on JetStream").</summary>
public sealed record JetStreamOptions
{
    /// <summary>Server URL(s), e.g. nats://nats:4222 or tls://nats.example:4222 (comma-separated for a cluster).</summary>
    public required string Url { get; init; }

    /// <summary>User and password (the chart's generated credential); both null = no auth.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>PEM file of the CA that signed the server's certificate (an external NATS with TLS); null = the system's CAs.</summary>
    public string? CaFile { get; init; }

    /// <summary>The work-queue stream holding accepted invocations (subjects <c>{SubjectPrefix}.&gt;</c>).</summary>
    public string Stream { get; init; } = "FNOP_INVOCATIONS";

    public string SubjectPrefix { get; init; } = "fnop.inv";

    /// <summary>Core NATS subject prefix of the "work arrived for a version at zero" pushes (<c>{WorkPrefix}.{ns}.{name}.{version}</c>).</summary>
    public string WorkPrefix { get; init; } = "fnop.work";

    /// <summary>The stream holding destination-queue records (subjects <c>{DestinationPrefix}.{escaped queue name}</c>; limits, discard old).</summary>
    public string DestinationStream { get; init; } = "FNOP_DEST";

    public string DestinationPrefix { get; init; } = "fnop.dest";

    /// <summary>Most bytes the destination stream holds (all queues together); beyond it the oldest records are discarded.</summary>
    public long DestinationMaxBytes { get; init; } = 1L << 30;

    /// <summary>Replicas of the stream in a NATS cluster (1 for a single server).</summary>
    public int StreamReplicas { get; init; } = 1;

    /// <summary>
    /// The consumer's ack wait is the function's (timeout + margin) up to this; longer leases are kept alive with
    /// in-progress acks every third of it by the replica that handed the invocation out.
    /// </summary>
    public TimeSpan MaxConsumerAckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the depth / in-flight snapshot behind <see cref="IInvocationQueue.GetStats"/> is refreshed.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>JetStream's duplicate window: a follow-up (retry, destination invocation) published twice within it is stored once.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(20);

    /// <summary>
    /// How far the gateway's and the NATS server's clocks may disagree. An async event whose caller was answered 500 (its
    /// publish was not acknowledged in time) is dropped if JetStream stored it later than that answer plus this tolerance;
    /// an event stored within the tolerance runs although its caller saw 500 (at least once, as Lambda's async invokes).
    /// </summary>
    public TimeSpan ClockTolerance { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most invocations held leased by this replica at once (a bounded table; beyond it next answers 204).</summary>
    public int MaxLocalLeases { get; init; } = 10_000;

    /// <summary>Parses <c>nats://[user:password@]host:port</c> (also tls://) into options; false with a reason otherwise.</summary>
    public static bool TryParse(string text, out JetStreamOptions options, out string error)
    {
        options = null!;
        error = "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls") || uri.Port <= 0 || string.IsNullOrEmpty(uri.Host))
        {
            error = $"'{text}' is not nats://host:port (or tls://host:port)";
            return false;
        }

        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            user = Uri.UnescapeDataString(parts[0]);
            password = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
        }

        options = new JetStreamOptions { Url = $"{uri.Scheme}://{uri.Host}:{uri.Port}", User = user, Password = password };
        return true;
    }
}
