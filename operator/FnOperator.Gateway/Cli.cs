namespace FnOperator.Gateway;

/// <summary>The gateway's command line: <c>serve</c> (cluster mode) and <c>local</c> (local mode).</summary>
public static class Cli
{
    public const string Usage = """
        usage: FnOperator.Gateway <command> [options]

        commands:
          serve   Cluster mode: Invoke API and pull protocol on :8080, metrics and health on :9090; functions from the cluster.
                  --listen <host:port>          (default 0.0.0.0:8080)
                  --metrics-listen <host:port>  (default 0.0.0.0:9090)
                  --namespace <ns>              watch one namespace only (default: all namespaces)
                  --region <region>             region in function ARNs (default us-east-1, or AWS_REGION)
                  --auth required|off           invoke auth: SigV4 keys in Secrets or ServiceAccount tokens, then RBAC (default required)
                  --access-key-namespace <ns>   namespace of the access-key Secrets (default: POD_NAMESPACE, else default)
                  --anonymous-namespaces <a,b>  namespaces whose functions anyone may invoke without credentials (default none)
                  environment: Gateway__ClusterKeyFile (required: pull-protocol credentials), Gateway__Queue=memory|nats,
                  Gateway__NatsUrl, Gateway__NatsUser, Gateway__NatsPassword, Gateway__NatsCaFile,
                  Gateway__NatsStreamReplicas, Gateway__ShutdownTimeoutSeconds (docs/gateway.md)
          local   Local mode: --functions <dir|file> --listen <host:port> [--queue memory|nats://host:port] [--instances process|in-process]
        """;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await Console.Out.WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "serve" => await ServeMode.RunAsync(args[1..], cancellationToken).ConfigureAwait(false),
                "local" => await Local.LocalMode.RunAsync(args[1..], cancellationToken).ConfigureAwait(false),
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}\n\n{Usage}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>Parses "--name value" pairs; every option must be one of <paramref name="allowed"/>.</summary>
    public static Dictionary<string, string> ParseOptions(string[] args, params string[] allowed)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !allowed.Contains(name[2..]))
            {
                throw new UsageException($"unknown option '{name}' (expected one of: {string.Join(", ", allowed.Select(a => "--" + a))})");
            }

            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"option '{name}' needs a value");
            }

            if (!values.TryAdd(name[2..], args[++i]))
            {
                throw new UsageException($"option '{name}' given twice");
            }
        }

        return values;
    }
}

/// <summary>A command-line mistake: printed with the usage, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
