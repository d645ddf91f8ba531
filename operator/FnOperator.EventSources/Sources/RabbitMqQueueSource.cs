using System.Collections;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A RabbitMQ queue (AMQP 0-9-1): one consumer with manual acknowledgements and a prefetch of batchSize ×
/// maximumConcurrency (at most 65,535 unacknowledged messages in this poller's memory). A message is acknowledged only
/// after the function succeeded; a failed batch is nack'ed with requeue (redelivered, <c>redelivered: true</c>); a
/// message past the retry limit goes to the mapping's failure destination, or without one is nack'ed without requeue so
/// the queue's own dead-letter exchange takes it. The queue must exist (a passive declare checks it). A dropped
/// connection fails the receive and the poller reconnects with backoff; the broker requeues what was unacknowledged.
/// Delivery counts: the quorum-queue header <c>x-delivery-count</c>, else counted in the poller (<see cref="DeliveryCounter"/>).
/// </summary>
public sealed class RabbitMqQueueSource(string url, string queue, string consumer, string ns, SourceCredentials credentials, int prefetch, DeliveryCounter counter) : IRecordSource, IRejectingSource
{
    public const int MaxPrefetch = ushort.MaxValue;
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<SourceRecord> inbox = Channel.CreateUnbounded<SourceRecord>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly string connectionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private IConnection? connection;
    private IChannel? channel;
    private IChannel? publisher;

    public SourceIdentity Identity { get; } = new(SourceKind.Queue, SourceIdentity.RabbitMq, queue, ns) { VirtualHost = VirtualHostOf(url) };

    /// <summary>The virtual host named by the URL's path (<c>amqp://host/vhost</c>, <c>%2F</c> or no path = <c>/</c>).</summary>
    public static string VirtualHostOf(string url)
    {
        var path = Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) : "";
        return path.Length == 0 ? "/" : path;
    }

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            AutomaticRecoveryEnabled = false, // the poller reconnects (with backoff) and starts over with fresh delivery tags
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = ConnectTimeout,
            RequestedHeartbeat = TimeSpan.FromSeconds(15),
            ClientProvidedName = "fnoperator-event-source " + consumer,
        };
        try
        {
            factory.Uri = new Uri(url);
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            throw new SourceException(SourceFailure.Invalid, $"rabbitmq {url}: {e.Message}", e);
        }

        if (credentials.Username is { } user)
        {
            factory.UserName = user;
            factory.Password = credentials.Password ?? "";
        }

        try
        {
            connection = await factory.CreateConnectionAsync(cancellationToken).WaitAsync(ConnectTimeout * 2, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var auth = e is AuthenticationFailureException || e.InnerException is AuthenticationFailureException
                || (e is BrokerUnreachableException && Flatten(e).Contains("ACCESS_REFUSED", StringComparison.Ordinal));
            throw new SourceException(auth ? SourceFailure.AuthFailed : SourceFailure.Unreachable, $"rabbitmq {Redacted(url)}: {Flatten(e)}", e);
        }

        connection.ConnectionShutdownAsync += (_, args) =>
        {
            inbox.Writer.TryComplete(new SourceException(SourceFailure.Unreachable, $"rabbitmq connection closed: {args.ReplyCode} {args.ReplyText}"));
            return Task.CompletedTask;
        };
        channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e)
        {
            throw new SourceException(e.ShutdownReason?.ReplyCode == 403 ? SourceFailure.AuthFailed : SourceFailure.Invalid,
                $"rabbitmq queue {queue} in vhost {Identity.VirtualHost}: {e.ShutdownReason?.ReplyText ?? e.Message}", e);
        }

        await channel.BasicQosAsync(0, (ushort)Math.Clamp(prefetch, 1, MaxPrefetch), false, cancellationToken).ConfigureAwait(false);
        var basic = new AsyncEventingBasicConsumer(channel);
        basic.ReceivedAsync += (_, delivery) =>
        {
            inbox.Writer.TryWrite(ToRecord(delivery));
            return Task.CompletedTask;
        };
        basic.ShutdownAsync += (_, args) =>
        {
            inbox.Writer.TryComplete(new SourceException(SourceFailure.Unreachable, $"rabbitmq consumer of {queue} stopped: {args.ReplyCode} {args.ReplyText}"));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumerTag: $"{consumer}-{connectionId}", noLocal: false, exclusive: false, arguments: null, basic, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var records = new List<SourceRecord>();
        if (!inbox.Reader.TryPeek(out _) && wait > TimeSpan.Zero)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(wait);
            try
            {
                await inbox.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return records;
            }
        }

        while (records.Count < max && inbox.Reader.TryRead(out var record))
        {
            records.Add(record);
        }

        if (records.Count == 0 && inbox.Reader.Completion.IsCompleted)
        {
            await inbox.Reader.Completion.ConfigureAwait(false); // throws the SourceException the connection closed with
            throw new SourceException(SourceFailure.Unreachable, "rabbitmq connection closed");
        }

        return records;
    }

    public Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        SettleAsync(records, (c, tag) => c.BasicAckAsync(tag, multiple: false, cancellationToken));

    /// <summary>Nack with requeue: the broker delivers the messages again (redelivered).</summary>
    public Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        SettleAsync(records, (c, tag) => c.BasicNackAsync(tag, multiple: false, requeue: true, cancellationToken));

    /// <summary>Nack without requeue: the queue's dead-letter exchange gets them (or the broker drops them).</summary>
    public Task RejectAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        SettleAsync(records, (c, tag) => c.BasicNackAsync(tag, multiple: false, requeue: false, cancellationToken));

    /// <summary>Publishes to the queue <paramref name="destination"/> (default exchange) with publisher confirms; the queue must exist.</summary>
    public async Task PublishAsync(string destination, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (publisher is not { IsOpen: true })
            {
                publisher = await Connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            }

            try
            {
                await publisher.QueueDeclarePassiveAsync(destination, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationInterruptedException e)
            {
                throw new SourceException(SourceFailure.Invalid, $"rabbitmq failure destination queue {destination}: {e.ShutdownReason?.ReplyText ?? e.Message}", e);
            }

            var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
            await publisher.BasicPublishAsync("", destination, mandatory: true, properties, payload, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        inbox.Writer.TryComplete();
        foreach (var c in new[] { publisher, channel })
        {
            if (c is not null)
            {
                try
                {
                    await c.CloseAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or ObjectDisposedException)
                {
                }

                c.Dispose();
            }
        }

        if (connection is not null)
        {
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or IOException or ObjectDisposedException)
            {
            }

            connection.Dispose();
        }

        gate.Dispose();
    }

    private async Task SettleAsync(IReadOnlyList<SourceRecord> records, Func<IChannel, ulong, ValueTask> settle)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var record in records)
            {
                var (owner, tag) = ((IChannel, ulong))record.Handle!;
                if (!ReferenceEquals(owner, channel))
                {
                    continue; // delivered on an earlier connection: the broker requeued it when that connection closed
                }

                try
                {
                    await settle(owner, tag).ConfigureAwait(false);
                }
                catch (AlreadyClosedException e)
                {
                    throw new SourceException(SourceFailure.Unreachable, $"rabbitmq channel closed before the acknowledgement: {e.Message}", e);
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private SourceRecord ToRecord(BasicDeliverEventArgs delivery)
    {
        var body = delivery.Body.ToArray();
        var props = delivery.BasicProperties;
        var headerCount = props.IsHeadersPresent() && props.Headers!.TryGetValue("x-delivery-count", out var h) && h is not null ? Convert.ToInt32(h, CultureInfo.InvariantCulture) : (int?)null;
        var key = props.IsMessageIdPresent() ? "id:" + props.MessageId : "sha:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var counted = counter.Count(key, delivery.Redelivered);
        var timestamp = props.IsTimestampPresent() ? DateTimeOffset.FromUnixTimeSeconds(props.Timestamp.UnixTime) : DateTimeOffset.UtcNow;
        return new SourceRecord
        {
            Id = $"{connectionId}-{delivery.DeliveryTag}",
            Body = body,
            Timestamp = timestamp,
            DeliveryCount = Math.Max(counted, headerCount is { } n ? n + 1 : 1),
            Redelivered = delivery.Redelivered,
            Properties = Properties(props, body.Length),
            Handle = (channel!, delivery.DeliveryTag),
        };
    }

    /// <summary>Lambda's basicProperties: every AMQP property (null when absent), string headers as <c>{"bytes":[…]}</c>, bodySize.</summary>
    public static JsonObject Properties(IReadOnlyBasicProperties p, int bodySize)
    {
        static JsonNode? Text(bool present, string? value) => present ? JsonValue.Create(value) : null;
        return new JsonObject
        {
            ["contentType"] = Text(p.IsContentTypePresent(), p.ContentType),
            ["contentEncoding"] = Text(p.IsContentEncodingPresent(), p.ContentEncoding),
            ["headers"] = p.IsHeadersPresent() ? Header(p.Headers) : null,
            ["deliveryMode"] = p.IsDeliveryModePresent() ? (int)p.DeliveryMode : null,
            ["priority"] = p.IsPriorityPresent() ? p.Priority : null,
            ["correlationId"] = Text(p.IsCorrelationIdPresent(), p.CorrelationId),
            ["replyTo"] = Text(p.IsReplyToPresent(), p.ReplyTo),
            ["expiration"] = Text(p.IsExpirationPresent(), p.Expiration),
            ["messageId"] = Text(p.IsMessageIdPresent(), p.MessageId),
            ["timestamp"] = p.IsTimestampPresent() ? DateTimeOffset.FromUnixTimeSeconds(p.Timestamp.UnixTime).UtcDateTime.ToString("MMM d, yyyy, h:mm:ss tt", CultureInfo.InvariantCulture) : null,
            ["type"] = Text(p.IsTypePresent(), p.Type),
            ["userId"] = Text(p.IsUserIdPresent(), p.UserId),
            ["appId"] = Text(p.IsAppIdPresent(), p.AppId),
            ["clusterId"] = Text(p.IsClusterIdPresent(), p.ClusterId),
            ["bodySize"] = bodySize,
        };
    }

    private static JsonNode? Header(object? value) => value switch
    {
        null => null,
        byte[] bytes => new JsonObject { ["bytes"] = new JsonArray([.. bytes.Select(b => (JsonNode)JsonValue.Create((int)b))]) },
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        AmqpTimestamp t => JsonValue.Create(t.UnixTime),
        IDictionary<string, object?> table => new JsonObject(table.Select(kv => KeyValuePair.Create(kv.Key, Header(kv.Value)))),
        IList list => new JsonArray([.. list.Cast<object?>().Select(Header)]),
        IConvertible c when c.GetTypeCode() is >= TypeCode.SByte and <= TypeCode.Decimal => JsonValue.Create(Convert.ToDecimal(c, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };

    private IConnection Connection => connection ?? throw new InvalidOperationException("not connected");

    private static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Length > 0 ? url.Replace(u.UserInfo + "@", "***@", StringComparison.Ordinal) : url;

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : $"{e.Message}: {Flatten(e.InnerException)}";
}

/// <summary>
/// How many times this poller saw a message (by messageId, else the SHA-256 of the body) — RabbitMQ's classic queues
/// carry only a redelivered flag. A first delivery (not redelivered) starts at 1. At most <see cref="Capacity"/> entries
/// (the oldest are forgotten); counts restart with the poller. Quorum queues' x-delivery-count wins when it is higher.
/// </summary>
public sealed class DeliveryCounter
{
    public const int Capacity = 100_000;

    private readonly Dictionary<string, int> counts = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();
    private readonly Lock sync = new();

    public int Count(string key, bool redelivered)
    {
        lock (sync)
        {
            if (!counts.TryGetValue(key, out var n))
            {
                order.Enqueue(key);
                if (order.Count > Capacity)
                {
                    counts.Remove(order.Dequeue());
                }
            }

            n = redelivered ? Math.Max(n, 1) + 1 : 1;
            counts[key] = n;
            return n;
        }
    }
}
