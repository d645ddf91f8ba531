using System.Collections;
using System.Globalization;
using FnOperator.Contracts;
using FnOperator.Gateway.Queue.JetStream;

namespace FnOperator.Gateway;

/// <summary>
/// Serve mode's settings from the environment (what the chart sets): the queue, NATS and its credential, the cluster
/// key file, and the shutdown budget.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>Gateway__Queue</c>: <c>memory</c> (default) or <c>nats</c>.</item>
/// <item><c>Gateway__NatsUrl</c> (nats:// or tls://), <c>Gateway__NatsUser</c>, <c>Gateway__NatsPassword</c>,
/// <c>Gateway__NatsCaFile</c> (PEM of the CA of an external NATS with TLS), <c>Gateway__NatsStreamReplicas</c>.</item>
/// <item><c>Gateway__ClusterKeyFile</c>: the cluster key (pull credentials, lease tokens); required in serve mode.</item>
/// <item><c>Gateway__UrlDomain</c>: the domain of host-based Function URLs ({function}.{namespace}.{domain}); unset = path-based only.</item>
/// <item><c>Gateway__ShutdownTimeoutSeconds</c>: how long a stopping replica lets its sync callers finish (below the pod's terminationGracePeriodSeconds).</item>
/// </list>
/// </remarks>
public static class GatewayEnvironment
{
    public static GatewayOptions Apply(GatewayOptions options, IDictionary environment, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        string? Get(string name) => environment[name] is string { Length: > 0 } value ? value : null;

        if (Get("Gateway__ClusterKeyFile") is { } keyFile)
        {
            try
            {
                options = options with { ClusterKey = File.ReadAllBytes(keyFile).AsSpan().Trim((byte)'\n').ToArray(), ProtectQueueInspection = true };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add($"Gateway__ClusterKeyFile '{keyFile}' cannot be read: {ex.Message}");
            }
        }
        else
        {
            problems.Add($"Gateway__ClusterKeyFile is required: the pull protocol is authenticated with credentials derived from it (a Secret key '{PullProtocol.ClusterKeySecretKey}')");
        }

        switch (Get("Gateway__Queue") ?? "memory")
        {
            case "memory":
                break;
            case "nats" when Get("Gateway__NatsUrl") is { } url && JetStreamOptions.TryParse(url, out var jetStream, out _):
                var replicas = int.TryParse(Get("Gateway__NatsStreamReplicas"), CultureInfo.InvariantCulture, out var r) && r is 1 or 3 or 5 ? r : 1;
                options = options with
                {
                    JetStream = jetStream with
                    {
                        User = Get("Gateway__NatsUser") ?? jetStream.User,
                        Password = Get("Gateway__NatsPassword") ?? jetStream.Password,
                        CaFile = Get("Gateway__NatsCaFile"),
                        StreamReplicas = replicas,
                    },
                };
                break;
            case "nats":
                problems.Add($"Gateway__NatsUrl '{Get("Gateway__NatsUrl")}' is not nats://host:port or tls://host:port");
                break;
            case var other:
                problems.Add($"Gateway__Queue '{other}' must be memory or nats");
                break;
        }

        if (Get("Gateway__ShutdownTimeoutSeconds") is { } shutdown)
        {
            if (int.TryParse(shutdown, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 3600)
            {
                options = options with { ShutdownTimeout = TimeSpan.FromSeconds(seconds) };
            }
            else
            {
                problems.Add($"Gateway__ShutdownTimeoutSeconds '{shutdown}' must be 1–3600");
            }
        }

        if (Get("Gateway__UrlDomain") is { } urlDomain)
        {
            // Validated with the other options (GatewayOptions.Validate): a bad domain stops the start with one line.
            options = options with { UrlDomain = urlDomain.Trim().TrimEnd('.').ToLowerInvariant() };
        }

        errors = problems;
        return options;
    }
}
