using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using FnOperator.Contracts;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>Leases: completing, releasing and keeping them alive, from the replica that handed them out or any other.</summary>
public sealed partial class JetStreamInvocationQueue
{
    private readonly ConcurrentDictionary<string, HeldLease> _leases = new(StringComparer.Ordinal);

    /// <summary>A lease this replica handed out: kept alive with in-progress acks until its deadline.</summary>
    private sealed record HeldLease(Invocation Invocation, LeaseToken Token, string Encoded, string? Reply, DateTimeOffset Deadline, DateTimeOffset ConsumerExpiry)
    {
        public DateTimeOffset ConsumerExpiry { get; set; } = ConsumerExpiry;
    }

    private void Lease(Invocation leased, LeaseToken token, string? reply)
    {
        var now = _time.GetUtcNow();
        var ackWait = _ackWaitOf(Key(leased));
        var consumerWait = ackWait < _options.MaxConsumerAckWait ? ackWait : _options.MaxConsumerAckWait;
        _leases[leased.RequestId] = new HeldLease(leased, token, leased.LeaseToken!, reply, now + ackWait, now + consumerWait);
    }

    public async ValueTask<Invocation?> GetInFlightAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        if (_leases.TryGetValue(requestId, out var held) && held.Encoded == leaseToken)
        {
            return held.Invocation;
        }

        var (invocation, _) = await ReadLeasedAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
        return invocation;
    }

    public async ValueTask<bool> CompleteAsync(string requestId, string leaseToken, InvocationResult result, CancellationToken cancellationToken)
    {
        var (invocation, token, reply) = await ResolveAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
        if (invocation is null || token is null)
        {
            return false;
        }

        if (invocation.Type == InvocationType.RequestResponse)
        {
            // The caller first, then the ack: a crash in between makes the redelivery answer "lost" to a caller that already has its result.
            await SendEventAsync(reply, requestId, "result", JsonSerializer.SerializeToUtf8Bytes(result, Json)).ConfigureAwait(false);
        }

        var acked = await AckAsync(token.AckSubject, "+ACK", cancellationToken).ConfigureAwait(false);
        _leases.TryRemove(requestId, out _);
        NoteChanged();
        return acked;
    }

    public async ValueTask<bool> ReleaseAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        var (invocation, token, reply) = await ResolveAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
        if (invocation is null || token is null)
        {
            return false;
        }

        await GiveBackAsync(invocation, token, reply).ConfigureAwait(false);
        _leases.TryRemove(requestId, out _);
        return true;
    }

    /// <summary>
    /// Puts a leased invocation back. An async one is nak'd. A sync one is re-published (new message, same caller) and
    /// the old one acked, so that a redelivered sync message always means a lost worker.
    /// </summary>
    private async Task GiveBackAsync(Invocation invocation, LeaseToken token, string? reply)
    {
        if (invocation.Type != InvocationType.RequestResponse)
        {
            await AckAsync(token.AckSubject, "-NAK", CancellationToken.None).ConfigureAwait(false);
            return;
        }

        var headers = new NatsHeaders { [JetStreamNames.StartByHeader] = UnixMs(_time.GetUtcNow() + _maxStartWait) };
        if (reply is not null)
        {
            headers[JetStreamNames.ReplyHeader] = reply;
        }

        var sequence = await PublishAsync(invocation with { LeaseToken = null }, headers, $"{invocation.RequestId}:r{token.Sequence}", CancellationToken.None).ConfigureAwait(false);
        await AckAsync(token.AckSubject, "+ACK", CancellationToken.None).ConfigureAwait(false);
        await SendEventAsync(reply, invocation.RequestId, "requeued", System.Text.Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
    }

    private async Task<(Invocation? Invocation, LeaseToken? Token, string? Reply)> ResolveAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        if (_leases.TryGetValue(requestId, out var held) && held.Encoded == leaseToken)
        {
            return (held.Invocation, held.Token, held.Reply);
        }

        var (invocation, reply) = await ReadLeasedAsync(requestId, leaseToken, cancellationToken).ConfigureAwait(false);
        return (invocation, invocation is null ? null : LeaseToken.Decode(_leaseKey, leaseToken), reply);
    }

    /// <summary>
    /// A lease another replica handed out: the token's signature is checked, then the message is read from the stream
    /// by sequence. Null when the token is not ours, or the message is gone (completed, withdrawn).
    /// </summary>
    private async Task<(Invocation? Invocation, string? Reply)> ReadLeasedAsync(string requestId, string leaseToken, CancellationToken cancellationToken)
    {
        if (LeaseToken.Decode(_leaseKey, leaseToken) is not { } token || token.RequestId != requestId)
        {
            return (null, null);
        }

        // A token of an earlier delivery of the message this replica holds again (its worker came back after the lease
        // expired and the message was redelivered): stale. The message is still in the stream until the current lease
        // ends, so the read below would accept it. (A redelivery held by another replica is not known here.)
        if (_leases.TryGetValue(requestId, out var held) && held.Token.Sequence == token.Sequence && token.Delivery < held.Token.Delivery)
        {
            return (null, null);
        }

        try
        {
            var stream = await _js.GetStreamAsync(_options.Stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            var msg = await ((NatsJSStream)stream).GetDirectAsync<byte[]>(new StreamMsgGetRequest { Seq = token.Sequence }, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (msg.Data is null || msg.Headers?.Code is 404)
            {
                return (null, null);
            }

            var invocation = JsonSerializer.Deserialize<Invocation>(msg.Data, Json);
            var reply = msg.Headers is { } h && h.TryGetValue(JetStreamNames.ReplyHeader, out var r) ? r.ToString() : null;
            return invocation?.RequestId == requestId ? (invocation with { LeaseToken = leaseToken }, reply) : (null, null);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return (null, null);
        }
    }

    /// <summary>Sends an ack (+ACK, -NAK, +WPI, +TERM) to a message's ack subject and waits for the server's confirmation.</summary>
    private async Task<bool> AckAsync(string ackSubject, string ack, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(ackSubject))
        {
            return false;
        }

        var reply = await _nats.RequestAsync<byte[], byte[]>(ackSubject, System.Text.Encoding.ASCII.GetBytes(ack), cancellationToken: cancellationToken).ConfigureAwait(false);
        return reply.Headers?.Code is null or 0 or 200;
    }

    private async Task SendEventAsync(string? reply, string requestId, string kind, byte[] data)
    {
        if (reply is null)
        {
            return;
        }

        var headers = new NatsHeaders { [JetStreamNames.EventHeader] = kind, [JetStreamNames.RequestIdHeader] = requestId };
        await _nats.PublishAsync(reply, data, headers: headers).ConfigureAwait(false);
    }

    /// <summary>Events for this replica's sync callers (started, result, lost, requeued), sent by whichever replica acted.</summary>
    private async Task ReadEventsAsync(INatsSub<byte[]> events, CancellationToken cancellationToken)
    {
        // Not disposed here: unsubscribing waits for a connection; disposing the connection ends the subscription.
        try
        {
            await foreach (var msg in events.Msgs.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var kind = msg.Headers is { } h && h.TryGetValue(JetStreamNames.EventHeader, out var k) ? k.ToString() : "";
                var requestId = msg.Headers is { } h2 && h2.TryGetValue(JetStreamNames.RequestIdHeader, out var id) ? id.ToString() : "";
                if (!_callers.TryGetValue(requestId, out var handle))
                {
                    continue;
                }

                ApplyEvent(handle, kind, msg.Data ?? []);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void ApplyEvent(SyncHandle handle, string kind, byte[] data)
    {
        var key = Key(handle.Invocation);
        switch (kind)
        {
            case "started":
                if (handle.TryLeaveWaiting())
                {
                    Waiting(handle.Invocation, -1);
                }

                handle.OnStarted();
                break;
            case "requeued" when ulong.TryParse(System.Text.Encoding.ASCII.GetString(data), CultureInfo.InvariantCulture, out var sequence):
                handle.OnRequeued(sequence);
                break;
            case "result" or "lost":
                if (JsonSerializer.Deserialize<InvocationResult>(data, Json) is { } result && _callers.TryRemove(handle.Invocation.RequestId, out _))
                {
                    if (handle.TryLeaveWaiting())
                    {
                        Waiting(handle.Invocation, -1);
                    }

                    handle.OnResult(result);
                }

                break;
        }
    }

    /// <summary>Keeps long leases alive (in-progress acks) and ends leases whose deadline passed without a result.</summary>
    private async Task LeaseLoopAsync(CancellationToken cancellationToken)
    {
        var period = _options.MaxConsumerAckWait / 3;
        using var timer = new PeriodicTimer(period < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var now = _time.GetUtcNow();
                foreach (var held in _leases.Values)
                {
                    try
                    {
                        await KeepOrEndAsync(held, now, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        LogLeaseUpkeepFailed(_logger, held.Invocation.RequestId, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task KeepOrEndAsync(HeldLease held, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (now >= held.Deadline)
        {
            // The worker never answered within timeout + margin: it is gone. Sync → its caller is told; async → redelivered now.
            if (!_leases.TryRemove(new KeyValuePair<string, HeldLease>(held.Invocation.RequestId, held)))
            {
                return;
            }

            if (held.Invocation.Type == InvocationType.RequestResponse)
            {
                await AckAsync(held.Token.AckSubject, "+TERM", cancellationToken).ConfigureAwait(false);
                await SendEventAsync(held.Reply, held.Invocation.RequestId, "lost", JsonSerializer.SerializeToUtf8Bytes(LeaseLost.Result(held.Invocation), Json)).ConfigureAwait(false);
                LogSyncLost(_logger, held.Invocation.Namespace, held.Invocation.FunctionName, held.Invocation.RequestId, held.Token.Delivery);
            }
            else
            {
                await AckAsync(held.Token.AckSubject, "-NAK", cancellationToken).ConfigureAwait(false);
            }

            NoteChanged();
            return;
        }

        // Renewed at the first tick (every third of the consumer ack wait) within two thirds of it of the consumer's
        // expiry, so at least a third of the ack wait (10 s by default) is left when it is sent: a stalled tick or a slow
        // publish on a loaded machine does not let the server redeliver a lease that is still being worked on.
        if (held.ConsumerExpiry < held.Deadline && now + (_options.MaxConsumerAckWait * 2 / 3) >= held.ConsumerExpiry)
        {
            await AckAsync(held.Token.AckSubject, "+WPI", cancellationToken).ConfigureAwait(false);
            held.ConsumerExpiry = now + _options.MaxConsumerAckWait;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to keep or end lease requestId={RequestId} error={Error}")]
    private static partial void LogLeaseUpkeepFailed(ILogger logger, string requestId, string error);
}
