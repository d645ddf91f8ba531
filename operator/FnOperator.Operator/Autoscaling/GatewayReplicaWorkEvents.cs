using System.Runtime.CompilerServices;
using System.Threading.Channels;
using FnOperator.Contracts;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Autoscaling;

/// <summary>
/// Holds one work-events stream (<see cref="GatewayWorkEventsSource"/>) per gateway replica and yields every push of
/// any of them. Replicas come and go: the set (<see cref="IGatewayReplicas"/>) is looked at every
/// <see cref="RescanInterval"/>; a new replica gets a stream, a gone one's stream is closed. Bounds: one stream per
/// replica, at most <see cref="AutoscalerOptions.MaxGatewayReplicas"/>; each reconnects on its own with
/// <see cref="Backoff.Jittered"/> from <see cref="AutoscalerOptions.PushReconnectDelay"/> up to 30 s (a stream that
/// stayed up for 30 s starts again from the first delay); pushes wait in a queue of <see cref="MaxPending"/> (more
/// are dropped: the poll sees that work). The enumeration ends only when canceled.
/// </summary>
public sealed partial class GatewayReplicaWorkEvents(
    IGatewayReplicas replicas, Func<Uri, IWorkEventSource> sourceFor, AutoscalerOptions options, TimeProvider time,
    ILogger<GatewayReplicaWorkEvents> logger) : IWorkEventSource
{
    public const int MaxPending = 1024;

    public static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan StableStream = TimeSpan.FromSeconds(30);

    /// <summary>Replicas with an open (or reconnecting) stream now; for tests and metrics.</summary>
    public int Streams => Volatile.Read(ref streams);

    private int streams;

    public async IAsyncEnumerable<VersionKey> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pushes = Channel.CreateBounded<VersionKey>(new BoundedChannelOptions(MaxPending) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, AllowSynchronousContinuations = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var supervisor = Task.Run(() => SuperviseAsync(pushes.Writer, stop.Token), CancellationToken.None);
        try
        {
            while (await pushes.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (pushes.Reader.TryRead(out var key))
                {
                    yield return key;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await supervisor.ConfigureAwait(false);
        }
    }

    private async Task SuperviseAsync(ChannelWriter<VersionKey> pushes, CancellationToken cancellationToken)
    {
        var listeners = new Dictionary<Uri, (CancellationTokenSource Stop, Task Task)>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var current = replicas.Current().Take(options.MaxGatewayReplicas).ToHashSet();
                foreach (var (address, listener) in listeners.Where(l => !current.Contains(l.Key)).ToList())
                {
                    await listener.Stop.CancelAsync().ConfigureAwait(false);
                    await listener.Task.ConfigureAwait(false);
                    listener.Stop.Dispose();
                    listeners.Remove(address);
                    LogStreamClosed(address.ToString());
                }

                foreach (var address in current.Where(a => !listeners.ContainsKey(a)))
                {
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    listeners[address] = (stop, Task.Run(() => ListenAsync(address, pushes, stop.Token), CancellationToken.None));
                }

                Volatile.Write(ref streams, listeners.Count);
                await Task.Delay(RescanInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var listener in listeners.Values)
            {
                await listener.Stop.CancelAsync().ConfigureAwait(false);
                await listener.Task.ConfigureAwait(false);
                listener.Stop.Dispose();
            }

            Volatile.Write(ref streams, 0);
        }
    }

    /// <summary>One replica's stream, reconnected with a jittered backoff until this replica is gone.</summary>
    private async Task ListenAsync(Uri address, ChannelWriter<VersionKey> pushes, CancellationToken cancellationToken)
    {
        var source = sourceFor(address);
        var failures = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var opened = time.GetUtcNow();
                try
                {
                    await foreach (var key in source.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        failures = 0;
                        pushes.TryWrite(key);
                    }

                    failures = time.GetUtcNow() - opened >= StableStream ? 1 : failures + 1;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
                {
                    failures = time.GetUtcNow() - opened >= StableStream ? 1 : failures + 1;
                    LogPushFailed(address.ToString(), ex.Message, failures);
                }

                await Task.Delay(Backoff.Jittered(failures, options.PushReconnectDelay, TimeSpan.FromSeconds(30)), time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway replica push stream unavailable, its work is seen by the poll until it reconnects replica={Replica} error={Error} attempt={Attempt}")]
    private partial void LogPushFailed(string replica, string error, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Gateway replica gone, push stream closed replica={Replica}")]
    private partial void LogStreamClosed(string replica);
}
