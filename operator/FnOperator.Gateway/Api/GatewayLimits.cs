using System.Collections;
using System.Globalization;

namespace FnOperator.Gateway.Api;

/// <summary>
/// The gateway's resource bounds (docs/gateway.md "Limits"), from environment variables so every mode (serve, local,
/// tests) reads them the same way: a connection cap, and byte budgets for what callers can make the gateway hold, queued
/// async payloads and held sync bodies, per function and overall. Past a budget callers get 429 TooManyRequestsException.
/// </summary>
public sealed record GatewayLimits
{
    public const string MaxConnectionsVariable = "FNOP_GATEWAY_MAX_CONNECTIONS";
    public const string AsyncBytesVariable = "FNOP_GATEWAY_ASYNC_BYTES";
    public const string AsyncBytesPerFunctionVariable = "FNOP_GATEWAY_ASYNC_BYTES_PER_FUNCTION";
    public const string SyncBytesVariable = "FNOP_GATEWAY_SYNC_BYTES";
    public const string SyncBytesPerFunctionVariable = "FNOP_GATEWAY_SYNC_BYTES_PER_FUNCTION";

    /// <summary>Lambda's limit for X-Amz-Client-Context: 3,583 bytes of base64.</summary>
    public const int MaxClientContextBytes = 3583;

    private const long MiB = 1024 * 1024;

    /// <summary>Open connections Kestrel keeps at once; more are refused (closed at accept) while the open ones are served.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>Bytes of Event payloads accepted and not yet finished, over all functions.</summary>
    public long AsyncBytes { get; init; } = 256 * MiB;

    public long AsyncBytesPerFunction { get; init; } = 64 * MiB;

    /// <summary>Bytes of RequestResponse bodies held while their callers wait, over all functions.</summary>
    public long SyncBytes { get; init; } = 256 * MiB;

    public long SyncBytesPerFunction { get; init; } = 64 * MiB;

    /// <summary>The defaults, overridden by the FNOP_GATEWAY_* variables present (positive integers; bytes for budgets).</summary>
    public static GatewayLimits FromEnvironment(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var defaults = new GatewayLimits();
        long Read(string name, long fallback)
        {
            if (environment[name] is not string text)
            {
                return fallback;
            }

            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new ArgumentException($"{name}: '{text}' is not a positive integer");
        }

        return new GatewayLimits
        {
            MaxConnections = (int)Math.Min(int.MaxValue, Read(MaxConnectionsVariable, defaults.MaxConnections)),
            AsyncBytes = Read(AsyncBytesVariable, defaults.AsyncBytes),
            AsyncBytesPerFunction = Read(AsyncBytesPerFunctionVariable, defaults.AsyncBytesPerFunction),
            SyncBytes = Read(SyncBytesVariable, defaults.SyncBytes),
            SyncBytesPerFunction = Read(SyncBytesPerFunctionVariable, defaults.SyncBytesPerFunction),
        };
    }
}
