using System.Globalization;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Command line of <c>FnOperator.Gateway local</c>:
/// <c>--functions &lt;dir|file&gt; --listen &lt;host:port&gt; [--idle-seconds N] [--retry-base-delay-seconds S] [--shim &lt;FnOperator.RuntimeShim.dll&gt;]
/// [--queue memory|nats://host:port] [--instances process|in-process]</c>.
/// </summary>
public sealed record LocalOptions
{
    public const string Usage =
        "usage: FnOperator.Gateway local --functions <folder|file> [--listen 127.0.0.1:9000] [--idle-seconds N]\n" +
        "                               [--retry-base-delay-seconds S] [--shim path/to/FnOperator.RuntimeShim.dll]\n" +
        "                               [--queue memory|nats://host:port] [--auth off|sigv4 --credentials FILE]\n" +
        "                               [--instances process|in-process]\n" +
        "  --functions                 Function manifests (YAML, as for kubectl apply); a folder is read recursively\n" +
        "  --listen                    address of the Lambda Invoke API (port 0 = any free port)\n" +
        "  --idle-seconds              scale a function to zero after N idle seconds, for every function\n" +
        "                              (default: each function's spec.scaling.scaleToZeroAfterSeconds)\n" +
        "  --retry-base-delay-seconds  delay before the first async retry (Lambda: 60; the second waits twice as long)\n" +
        "  --shim                      the runtime-shim (default: FNOP_SHIM_DLL, else found in this build tree)\n" +
        "  --auth off|sigv4            invoke authentication (default off: any credentials); sigv4 needs --credentials\n" +
        "  --credentials               AWS credentials file ([profile] aws_access_key_id/aws_secret_access_key) for --auth sigv4\n" +
        "  --queue                     memory (default: lost when local mode stops) or nats://[user:password@]host:port, a\n" +
        "                              NATS JetStream server (nats-server -js): queued async events survive a restart\n" +
        "  --instances                 in-process (default: each instance's runtime-shim runs inside this process, its\n" +
        "                              runtime under a small keeper process) or process (a runtime-shim process per instance)";

    public required string Functions { get; init; }

    public string Listen { get; init; } = "127.0.0.1:9000";

    public TimeSpan? IdleOverride { get; init; }

    public TimeSpan? RetryBaseDelay { get; init; }

    public string? ShimDll { get; init; }

    /// <summary>Invoke auth: off (default) or SigV4 against <c>--credentials</c> (docs/security.md).</summary>
    public Auth.AuthOptions Auth { get; init; } = global::FnOperator.Gateway.Auth.AuthOptions.Off;

    /// <summary>The durable queue (<c>--queue nats://…</c>); null = the in-memory queue.</summary>
    public Queue.JetStream.JetStreamOptions? JetStream { get; init; }

    /// <summary>How function instances run (<c>--instances</c>): hosted in this process (default) or a shim process each.</summary>
    public InstanceMode Instances { get; init; } = InstanceMode.InProcess;

    /// <summary>Parses the arguments after the <c>local</c> subcommand (a leading "local" is skipped).</summary>
    public static bool TryParse(IReadOnlyList<string> args, out LocalOptions options, out string error)
    {
        options = null!;
        error = "";
        string? functions = null, listen = null, shim = null, credentials = null;
        var authMode = global::FnOperator.Gateway.Auth.AuthMode.Off;
        Queue.JetStream.JetStreamOptions? jetStream = null;
        TimeSpan? idle = null, retry = null;
        var instances = InstanceMode.InProcess;
        var start = args.Count > 0 && args[0] == "local" ? 1 : 0;
        for (var i = start; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                error = name.StartsWith("--", StringComparison.Ordinal) ? $"{name} needs a value" : $"unexpected argument '{name}'";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--functions":
                    functions = value;
                    break;
                case "--listen":
                    listen = value;
                    if (!ListenAddress.TryParse(value, out _))
                    {
                        error = $"--listen: '{value}' is not host:port (e.g. 127.0.0.1:9000)";
                        return false;
                    }

                    break;
                case "--shim":
                    shim = value;
                    break;
                case "--auth" when global::FnOperator.Gateway.Auth.AuthOptions.TryParseMode(value, out authMode) && authMode != global::FnOperator.Gateway.Auth.AuthMode.Required:
                    break;
                case "--auth":
                    error = $"--auth: '{value}' is not off or sigv4";
                    return false;
                case "--credentials":
                    credentials = value;
                    break;
                case "--instances" when value is "process" or "in-process":
                    instances = value == "process" ? InstanceMode.Process : InstanceMode.InProcess;
                    break;
                case "--instances":
                    error = $"--instances: '{value}' is not process or in-process";
                    return false;
                case "--queue" when value == "memory":
                    jetStream = null;
                    break;
                case "--queue":
                    if (!Queue.JetStream.JetStreamOptions.TryParse(value, out var parsed, out var queueError))
                    {
                        error = $"--queue: {queueError}; or 'memory'";
                        return false;
                    }

                    jetStream = parsed;
                    break;
                case "--idle-seconds" or "--retry-base-delay-seconds":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0 || seconds > 86400)
                    {
                        error = $"{name}: '{value}' is not a number of seconds between 0 and 86400";
                        return false;
                    }

                    if (name == "--idle-seconds")
                    {
                        idle = TimeSpan.FromSeconds(seconds);
                    }
                    else
                    {
                        retry = TimeSpan.FromSeconds(seconds);
                    }

                    break;
                default:
                    error = $"unknown option '{name}'";
                    return false;
            }
        }

        if (functions is null)
        {
            error = "--functions is required";
            return false;
        }

        var auth = new global::FnOperator.Gateway.Auth.AuthOptions { Mode = authMode, CredentialsFile = credentials };
        if (auth.Validate() is [var authError, ..])
        {
            error = authError;
            return false;
        }

        options = new LocalOptions { Functions = functions, Listen = listen ?? "127.0.0.1:9000", IdleOverride = idle, RetryBaseDelay = retry, ShimDll = shim, Auth = auth, JetStream = jetStream, Instances = instances };
        return true;
    }
}
