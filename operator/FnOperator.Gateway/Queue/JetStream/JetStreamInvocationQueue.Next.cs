using System.Collections.Concurrent;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>Handing invocations out: consumers per function version, fetch, and the checks made at hand-out.</summary>
public sealed partial class JetStreamInvocationQueue
{
    /// <summary>One pull request waits at most this long; a longer wait is several (cancellation is looked at between them).</summary>
    private static readonly TimeSpan PullChunk = TimeSpan.FromSeconds(5);

    /// <summary>How long after its expiry a pull is given up on (the server never answered it).</summary>
    private static readonly TimeSpan PullGrace = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<(FunctionKey Key, string Version), Task<INatsJSConsumer>> _consumers = new();
    private readonly ConcurrentDictionary<FunctionKey, int?> _limits = new();

    public async ValueTask<Invocation?> NextAsync(FunctionKey key, string version, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + wait;
        if (_limits.TryGetValue(key, out var limit) && limit == 0)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var consumer = await EnsureConsumerAsync(key, version, cancellationToken).ConfigureAwait(false);
        while (!_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested && _leases.Count < _options.MaxLocalLeases)
        {
            var remaining = deadline - _time.GetUtcNow();
            // The pull itself is not cancelled: a message the server sends to an abandoned pull would sit leased until
            // its ack wait, and a sync one would then count as lost. Pulls are short instead (at least 1 s, NATS's floor).
            var expires = remaining < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : remaining > PullChunk ? PullChunk : remaining;
            INatsJSMsg<byte[]>? msg;
            // A pull the server forgot (it restarted mid-pull) must not hang the caller: give up well after its expiry.
            using (var guard = new CancellationTokenSource(expires + PullGrace))
            {
                try
                {
                    msg = await consumer.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = expires }, cancellationToken: guard.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (guard.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    LogPullAbandoned(_logger, key.Namespace, key.Name, version);
                    continue;
                }
            }

            if (msg is { } m)
            {
                var invocation = await HandOutAsync(key, m, cancellationToken).ConfigureAwait(false);
                if (invocation is not null)
                {
                    return invocation;
                }
            }

            if (_time.GetUtcNow() >= deadline)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>Checks a fetched message and leases it; null when it must not run now (delayed, a sync whose worker was lost, a caller gone).</summary>
    private async Task<Invocation?> HandOutAsync(FunctionKey key, INatsJSMsg<byte[]> msg, CancellationToken cancellationToken)
    {
        Invocation? invocation;
        try
        {
            invocation = JsonSerializer.Deserialize<Invocation>(msg.Data, Json);
        }
        catch (JsonException ex)
        {
            LogBadMessage(_logger, msg.Subject, ex.Message);
            await msg.AckTerminateAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return null;
        }

        var metadata = msg.Metadata ?? throw new InvalidOperationException("A JetStream message without metadata.");
        var now = _time.GetUtcNow();
        if (invocation is null)
        {
            await msg.AckTerminateAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return null;
        }

        var reply = msg.Headers is { } h && h.TryGetValue(JetStreamNames.ReplyHeader, out var r) ? r.ToString() : null;
        if (invocation.Type == InvocationType.RequestResponse)
        {
            if (metadata.NumDelivered > 1)
            {
                // Our code never naks a sync invocation (a release re-publishes it), so a redelivery means the worker or
                // the replica holding it died: answer the caller, never run it a second time.
                await msg.AckTerminateAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
                await SendEventAsync(reply, invocation.RequestId, "lost", JsonSerializer.SerializeToUtf8Bytes(LeaseLost.Result(invocation), Json)).ConfigureAwait(false);
                LogSyncLost(_logger, key.Namespace, key.Name, invocation.RequestId, metadata.NumDelivered);
                return null;
            }

            if (ReadUnixMs(msg.Headers, JetStreamNames.StartByHeader) is { } startBy && now > startBy)
            {
                await msg.AckTerminateAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
                return null;
            }
        }
        else if (ReadUnixMs(msg.Headers, JetStreamNames.AcceptByHeader) is { } acceptBy && metadata.Timestamp > acceptBy + _options.ClockTolerance)
        {
            // Stored after its caller was answered 500 (a publish replayed after a reconnect): it was never accepted.
            await msg.AckTerminateAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            LogStoredTooLate(_logger, key.Namespace, key.Name, invocation.RequestId);
            return null;
        }
        else if (ReadUnixMs(msg.Headers, JetStreamNames.NotBeforeHeader) is { } notBefore && notBefore > now)
        {
            await msg.NakAsync(new AckOpts { NakDelay = notBefore - now }, CancellationToken.None).ConfigureAwait(false);
            return null;
        }

        var token = new LeaseToken(msg.ReplyTo ?? "", metadata.Sequence.Stream, invocation.RequestId, metadata.NumDelivered);
        // A delayed retry is usually handed out once before it is due (the nak above): that delivery did not run it.
        var early = msg.Headers is { } nb && nb.ContainsKey(JetStreamNames.NotBeforeHeader) ? 1UL : 0UL;
        var delivery = metadata.NumDelivered > early ? metadata.NumDelivered - early : 1UL;
        var leased = invocation with { LeaseToken = token.Encode(_leaseKey), Delivery = (int)Math.Min(delivery, int.MaxValue) };
        if (cancellationToken.IsCancellationRequested || _stopping.IsCancellationRequested)
        {
            // Nobody is waiting for it any more: give it back.
            await GiveBackAsync(leased, token, reply).ConfigureAwait(false);
            return null;
        }

        Lease(leased, token, reply);
        if (invocation.Type == InvocationType.RequestResponse)
        {
            await SendEventAsync(reply, invocation.RequestId, "started", []).ConfigureAwait(false);
        }

        return leased;
    }

    private Task<INatsJSConsumer> EnsureConsumerAsync(FunctionKey key, string version, CancellationToken cancellationToken)
    {
        var task = _consumers.GetOrAdd((key, version), k => CreateConsumerAsync(k.Key, k.Version));
        if (task.IsFaulted || task.IsCanceled)
        {
            _consumers.TryRemove(new KeyValuePair<(FunctionKey, string), Task<INatsJSConsumer>>((key, version), task));
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task<INatsJSConsumer> CreateConsumerAsync(FunctionKey key, string version)
    {
        var ackWait = _ackWaitOf(key);
        var limit = _limits.TryGetValue(key, out var l) ? l : null;
        var name = JetStreamNames.Consumer(key, version);
        return await _js.CreateOrUpdateConsumerAsync(_options.Stream, new ConsumerConfig(name)
        {
            DurableName = name,
            FilterSubject = JetStreamNames.Subject(_options.SubjectPrefix, key, version),
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            AckWait = ackWait < _options.MaxConsumerAckWait ? ackWait : _options.MaxConsumerAckWait,
            // Unbounded here: async redelivery is bounded at hand-out by GatewayOptions.MaxEventDeliveries (PullCore: a failed
            // attempt after that many, from the message's NumDelivered) and the maximum event age, sync by the lost check.
            MaxDeliver = -1,
            MaxAckPending = limit is > 0 ? limit.Value : -1,
            MaxWaiting = 4096,
        }).ConfigureAwait(false);
    }

    public void SetConcurrencyLimit(FunctionKey key, int? limit)
    {
        if (_limits.TryGetValue(key, out var old) && old == limit)
        {
            return;
        }

        _limits[key] = limit;
        foreach (var (k, version) in _consumers.Keys.Where(k => k.Key == key).ToList())
        {
            // Re-create with the new max ack pending.
            _consumers[(k, version)] = CreateConsumerAsync(k, version);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Abandoned a pull the server did not answer namespace={Namespace} function={Function} version={Version}")]
    private static partial void LogPullAbandoned(ILogger logger, string @namespace, string function, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped an event stored after its caller was told it was not accepted namespace={Namespace} function={Function} requestId={RequestId}")]
    private static partial void LogStoredTooLate(ILogger logger, string @namespace, string function, string requestId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropped unreadable queue message subject={Subject} error={Error}")]
    private static partial void LogBadMessage(ILogger logger, string subject, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered sync invocation whose worker was lost namespace={Namespace} function={Function} requestId={RequestId} deliveries={Deliveries}")]
    private static partial void LogSyncLost(ILogger logger, string @namespace, string function, string requestId, ulong deliveries);
}
