using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A NATS JetStream work queue: a durable pull consumer <c>{consumer}</c> (explicit acks) on the stream that captures
/// the subject. A message in a batch is invisible to other pulls until acked (deleted) or nak'ed (redelivered, its
/// NumDelivered counting), or until the ack wait (the visibility timeout) passes.
/// </summary>
public sealed class NatsQueueSource(string url, string subject, string consumer, string ns, SourceCredentials credentials, TimeSpan visibilityTimeout) : IRecordSource
{
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
        }

        return records;
    }

    public async Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            await ((INatsJSMsg<byte[]>)record.Handle!).AckAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            await ((INatsJSMsg<byte[]>)record.Handle!).NakAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
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
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private INatsJSConsumer Pull => pull ?? throw new InvalidOperationException("not connected");

    private INatsJSContext Js => js ?? throw new InvalidOperationException("not connected");
}
