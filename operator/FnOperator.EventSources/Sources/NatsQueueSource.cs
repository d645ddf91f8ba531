using System.Collections.Concurrent;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A NATS JetStream work queue: a durable pull consumer <c>{consumer}</c> (explicit acks) on the stream that captures
/// the subject. A message in a batch is invisible to other pulls until acked (deleted) or nak'ed (redelivered, its
/// NumDelivered counting), or until the ack wait (the visibility timeout) passes. While this source holds a message
/// (batching window, invocation, throttle retries) it sends an in-progress ack every third of the ack wait, so a batch
/// that runs longer than the ack wait is not handed to another poller, and the messages of a poller that died come back
/// one ack wait later. A message is kept at most <see cref="MaxHold"/> (bounded: a lost handle cannot stay invisible).
/// </summary>
public sealed class NatsQueueSource(string url, string subject, string consumer, string ns, SourceCredentials credentials, TimeSpan visibilityTimeout) : IRecordSource
{
    /// <summary>The longest a message is kept invisible by in-progress acks: a 300 s batching window, a 900 s invocation and the throttle retries, with room.</summary>
    public static readonly TimeSpan MaxHold = TimeSpan.FromMinutes(30);

    private readonly ConcurrentDictionary<INatsJSMsg<byte[]>, DateTimeOffset> held = new();
    private readonly CancellationTokenSource stop = new();
    private Task keepAlive = Task.CompletedTask;
    private NatsConnection? connection;
    private INatsJSContext? js;
    private INatsJSConsumer? pull;

    public SourceIdentity Identity { get; } = new(SourceKind.Queue, "nats", subject, ns);

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        connection = await NatsConnect.OpenAsync(url, credentials, cancellationToken).ConfigureAwait(false);
        js = new NatsJSContext(connection);
        try
        {
            var stream = await NatsConnect.StreamForSubjectAsync(js, subject, cancellationToken).ConfigureAwait(false);
            pull = await js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(NatsConnect.ConsumerName(consumer))
            {
                FilterSubject = subject,
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                AckWait = visibilityTimeout,
                MaxAckPending = 10_000,
            }, cancellationToken).ConfigureAwait(false);
            keepAlive = KeepAliveAsync(stop.Token);
        }
        catch (NatsNoRespondersException e)
        {
            throw new SourceException(SourceFailure.Invalid, $"nats {url}: JetStream is not enabled on the server (no responders; start nats-server with -js)", e);
        }
        catch (NatsJSApiException e)
        {
            throw new SourceException(SourceFailure.Invalid, $"nats {subject}: {e.Error.Description}", e);
        }
    }

    public async Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var records = new List<SourceRecord>();
        var expires = wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait; // the server's minimum useful pull expiry
        await foreach (var msg in Pull.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = max, Expires = expires }, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var meta = msg.Metadata;
            records.Add(new SourceRecord
            {
                Id = $"{meta?.Stream}-{meta?.Sequence.Stream}",
                Body = msg.Data ?? [],
                Timestamp = meta?.Timestamp ?? DateTimeOffset.UtcNow,
                Sequence = meta?.Sequence.Stream ?? 0,
                DeliveryCount = (int)(meta?.NumDelivered ?? 1),
                Attributes = NatsConnect.Headers(msg.Headers),
                Handle = msg,
            });
            held[msg] = DateTimeOffset.UtcNow;
        }

        return records;
    }

    public async Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            var msg = (INatsJSMsg<byte[]>)record.Handle!;
            held.TryRemove(msg, out _);
            await msg.AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            var msg = (INatsJSMsg<byte[]>)record.Handle!;
            held.TryRemove(msg, out _);
            await msg.NakAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task PublishAsync(string queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await NatsConnect.StreamForSubjectAsync(Js, queue, cancellationToken).ConfigureAwait(false);
        var ack = await Js.PublishAsync(queue, payload.ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
        ack.EnsureSuccess();
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await keepAlive.ConfigureAwait(false);
        stop.Dispose();
        held.Clear();
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>In-progress acks for every held message, every third of the ack wait, until disposed.</summary>
    private async Task KeepAliveAsync(CancellationToken cancellationToken)
    {
        var every = visibilityTimeout / 3 > TimeSpan.FromMilliseconds(100) ? visibilityTimeout / 3 : TimeSpan.FromMilliseconds(100);
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken).ConfigureAwait(false);
                var now = DateTimeOffset.UtcNow;
                foreach (var (msg, since) in held)
                {
                    if (now - since > MaxHold)
                    {
                        held.TryRemove(msg, out _); // left to the ack wait: redelivered
                        continue;
                    }

                    try
                    {
                        await msg.AckProgressAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                    }
                    catch (NatsException)
                    {
                        // a lost connection: the message is redelivered after the ack wait, as without a keep-alive
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private INatsJSConsumer Pull => pull ?? throw new InvalidOperationException("not connected");

    private INatsJSContext Js => js ?? throw new InvalidOperationException("not connected");
}
