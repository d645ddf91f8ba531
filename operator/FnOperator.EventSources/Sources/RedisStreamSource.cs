using StackExchange.Redis;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A Redis stream read through the consumer group <c>{consumer}</c> (created at the starting position: TRIM_HORIZON
/// <c>0</c>, LATEST <c>$</c>, AT_TIMESTAMP <c>{ms}-0</c>). The checkpoint is the group itself: entries are <c>XACK</c>ed
/// when their batch is done, and a restarted poller first re-reads its pending entries in order, then new ones — so it
/// survives restarts and leader failover. An entry's <c>data</c> field is the record data (otherwise the fields as a
/// JSON object) and its <c>partitionKey</c> field the partition key (otherwise the stream key).
/// </summary>
public sealed class RedisStreamSource(string url, string stream, string consumer, string ns, SourceCredentials credentials, StartingPosition start, TimeProvider time) : IRecordSource
{
    private const string Reader = "poller";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private ConnectionMultiplexer? redis;
    private RedisValue pendingFrom = "0";
    private bool pendingDone;

    public SourceIdentity Identity { get; } = new(SourceKind.Stream, "redis", stream, ns);

    private IDatabase Db => (redis ?? throw new InvalidOperationException("not connected")).GetDatabase();

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        redis = await RedisConnect.OpenAsync(url, credentials, cancellationToken).ConfigureAwait(false);
        var position = start.Position switch
        {
            StartingPosition.Latest => "$",
            StartingPosition.AtTimestamp => BeforeTimestamp((start.Timestamp ?? time.GetUtcNow()).ToUnixTimeMilliseconds()),
            _ => "0",
        };
        try
        {
            await Db.StreamCreateConsumerGroupAsync(stream, consumer, position, createStream: true).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // The group exists: its last-delivered id and pending entries are the checkpoint.
        }
    }

    /// <summary>
    /// The group's last-delivered id for AT_TIMESTAMP: the largest id before the millisecond <paramref name="ms"/>, so the
    /// first entry read is the first one at or after it (an entry id is its arrival time in ms and a sequence number).
    /// </summary>
    internal static string BeforeTimestamp(long ms) => ms <= 0 ? "0" : $"{ms - 1}-{ulong.MaxValue}";

    public async Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            StreamEntry[] entries;
            if (!pendingDone)
            {
                entries = await Db.StreamReadGroupAsync(stream, consumer, Reader, pendingFrom, max).ConfigureAwait(false);
                if (entries.Length == 0)
                {
                    pendingDone = true;
                    continue;
                }

                pendingFrom = entries[^1].Id;
            }
            else
            {
                entries = await Db.StreamReadGroupAsync(stream, consumer, Reader, StreamPosition.NewMessages, max).ConfigureAwait(false);
            }

            if (entries.Length > 0 || time.GetUtcNow() >= deadline)
            {
                return [.. entries.Select(ToRecord)];
            }

            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        records.Count == 0 ? Task.CompletedTask : Db.StreamAcknowledgeAsync(stream, consumer, [.. records.Select(r => (RedisValue)r.Id)]);

    public Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task PublishAsync(string queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Db.ListLeftPushAsync(queue, payload);

    public async ValueTask DisposeAsync()
    {
        if (redis is not null)
        {
            await redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    private SourceRecord ToRecord(StreamEntry entry)
    {
        var id = entry.Id.ToString();
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        var ms = long.Parse(id[..dash], System.Globalization.CultureInfo.InvariantCulture);
        var seq = ulong.Parse(id[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var data = entry["data"];
        var key = entry["partitionKey"];
        byte[] body = data.IsNull
            ? System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(entry.Values.ToDictionary(v => v.Name.ToString(), v => v.Value.ToString()))
            : (byte[])data!;
        return new SourceRecord
        {
            Id = id,
            Body = body,
            Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(ms),
            PartitionKey = key.IsNull ? stream : key.ToString(),
            Sequence = ((ulong)ms << 20) | (seq & 0xFFFFF),
        };
    }
}
