using System.Collections.Concurrent;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>
/// Depth and in-flight per function version from JetStream (stream subject counts and consumer num_ack_pending),
/// refreshed in the background and on local changes; waiting sync callers are this replica's own.
/// </summary>
public sealed partial class JetStreamInvocationQueue
{
    private readonly ConcurrentDictionary<(FunctionKey Key, string Version), StrongBox> _waiting = new();
    private readonly SemaphoreSlim _refresh = new(0, 1);
    private readonly Lock _snapshotGate = new();

    // Enqueues counted since the refresh under way began reading, with their stream sequence: its read may predate
    // them (see PublishCounts).
    private readonly List<(FunctionKey Key, string Version, ulong Sequence)> _queuedDuringRead = [];
    private ulong _snapshotSequence; // the stream's last sequence when the snapshot was read
    private volatile IReadOnlyDictionary<(FunctionKey Key, string Version), (int Depth, int InFlight)> _snapshot =
        new Dictionary<(FunctionKey, string), (int, int)>();

    private sealed class StrongBox
    {
        public int Value;
    }

    public QueueStats GetStats(FunctionKey key)
    {
        var depth = 0;
        var inFlight = 0;
        foreach (var ((k, _), counts) in _snapshot)
        {
            if (k == key)
            {
                depth += counts.Depth;
                inFlight += counts.InFlight;
            }
        }

        var waiting = _waiting.Where(w => w.Key.Key == key).Sum(w => Math.Max(0, Volatile.Read(ref w.Value.Value)));
        return new QueueStats(depth, inFlight, waiting);
    }

    public IReadOnlyDictionary<string, QueueStats> GetVersionStats(FunctionKey key)
    {
        var versions = new Dictionary<string, QueueStats>(StringComparer.Ordinal);
        foreach (var ((k, version), counts) in _snapshot)
        {
            if (k == key)
            {
                versions[version] = new QueueStats(counts.Depth, counts.InFlight, 0);
            }
        }

        foreach (var ((k, version), box) in _waiting)
        {
            if (k == key && Math.Max(0, Volatile.Read(ref box.Value)) is var waiting and > 0)
            {
                versions[version] = (versions.TryGetValue(version, out var s) ? s : new QueueStats(0, 0, 0)) with { WaitingSync = waiting };
            }
        }

        return versions;
    }

    private void Waiting(Contracts.Invocation invocation, int delta) =>
        Interlocked.Add(ref _waiting.GetOrAdd((Key(invocation), invocation.Version), _ => new StrongBox()).Value, delta);

    private bool IsIdle(FunctionKey key, string version) => !_snapshot.TryGetValue((key, version), out var c) || c.Depth + c.InFlight == 0;

    /// <summary>Counts an enqueue in the snapshot at once (the next refresh corrects it) and asks for a refresh.</summary>
    private void NoteQueued(FunctionKey key, string version, ulong sequence)
    {
        lock (_snapshotGate)
        {
            // A refresh that finished between the store and this call already counted it.
            if (sequence > _snapshotSequence)
            {
                var next = new Dictionary<(FunctionKey, string), (int, int)>(_snapshot);
                next[(key, version)] = next.TryGetValue((key, version), out var c) ? (c.Item1 + 1, c.Item2) : (1, 0);
                _snapshot = next;
            }

            _queuedDuringRead.Add((key, version, sequence));
        }

        NoteChanged();
    }

    /// <summary>
    /// Publishes a refresh's counts. An enqueue counted while the read was under way may be missing from it (JetStream
    /// answered before the message was stored): a plain replace would drop it until the next refresh, so an autoscaler
    /// or a caller asking right after a 202 would see depth 0. Such an enqueue's stream sequence is past the read's last
    /// sequence: it is added on top of the read (the next refresh, which <see cref="NoteQueued"/> asked for, sees it).
    /// </summary>
    private void PublishCounts(Dictionary<(FunctionKey, string), (int Depth, int InFlight)> counts, ulong lastSequence)
    {
        lock (_snapshotGate)
        {
            foreach (var (key, version, sequence) in _queuedDuringRead)
            {
                if (sequence > lastSequence)
                {
                    counts[(key, version)] = counts.TryGetValue((key, version), out var c) ? (c.Depth + 1, c.InFlight) : (1, 0);
                }
            }

            _queuedDuringRead.Clear();
            _snapshot = counts;
            _snapshotSequence = lastSequence;
        }
    }

    /// <summary>A refresh is about to read: enqueues counted before now are stored in JetStream (PubAck came first).</summary>
    private void BeginRead()
    {
        lock (_snapshotGate)
        {
            _queuedDuringRead.Clear();
        }
    }

    private void NoteChanged()
    {
        if (_refresh.CurrentCount == 0)
        {
            try
            {
                _refresh.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    private async Task StatsLoopAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.StatsInterval;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _refresh.WaitAsync(backoff, cancellationToken).ConfigureAwait(false);
                BeginRead();
                var (counts, lastSequence) = await ReadCountsAsync(cancellationToken).ConfigureAwait(false);
                PublishCounts(counts, lastSequence);
                backoff = _options.StatsInterval;
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Anything (a NATS timeout surfaces as a cancellation of its own): the loop must outlive an outage.
                LogStatsFailed(_logger, ex.Message);
                // Jittered backoff (the shared helper) from twice the interval up to 10 s while NATS is away.
                backoff = Backoff.Jittered(++failures, _options.StatsInterval * 2, TimeSpan.FromSeconds(10));
            }
        }
    }

    private async Task<(Dictionary<(FunctionKey, string), (int Depth, int InFlight)> Counts, ulong LastSequence)> ReadCountsAsync(CancellationToken cancellationToken)
    {
        var stream = await _js.GetStreamAsync(_options.Stream, new StreamInfoRequest { SubjectsFilter = _options.SubjectPrefix + ".>" }, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<(FunctionKey, string), (int Depth, int InFlight)>();
        foreach (var (subject, messages) in stream.Info.State.Subjects ?? new Dictionary<string, long>())
        {
            if (!JetStreamNames.TryParse(_options.SubjectPrefix, subject, out var key, out var version))
            {
                continue;
            }

            var inFlight = 0;
            try
            {
                var consumer = await _js.GetConsumerAsync(_options.Stream, JetStreamNames.Consumer(key, version), cancellationToken).ConfigureAwait(false);
                inFlight = (int)consumer.Info.NumAckPending;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                // No consumer yet: nothing leased.
            }

            counts[(key, version)] = ((int)Math.Max(0, messages - inFlight), inFlight);
        }

        return (counts, stream.Info.State.LastSeq);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to read queue counters from JetStream error={Error}")]
    private static partial void LogStatsFailed(ILogger logger, string error);
}
