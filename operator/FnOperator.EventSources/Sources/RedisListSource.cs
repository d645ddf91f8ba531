using System.Security.Cryptography;
using StackExchange.Redis;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A Redis list as a queue (producers <c>LPUSH</c>, the poller takes from the right), with the reliable-queue pattern:
/// each message is moved atomically (<c>LMOVE</c>) to the mapping's processing list <c>{list}:fnop:{consumer}:processing</c>
/// and removed from it when acked; released messages go back to the consumer end of the list. A restarted poller moves
/// whatever its predecessor left in processing back first. Delivery counts live in the hash
/// <c>{list}:fnop:{consumer}:deliveries</c>, keyed by the messageId — the SHA-256 of the body (Redis list entries have
/// no ids, so equal bodies share an id and a count).
/// </summary>
public sealed class RedisListSource(string url, string list, string consumer, string ns, SourceCredentials credentials, TimeProvider time) : IRecordSource
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private ConnectionMultiplexer? redis;

    public SourceIdentity Identity { get; } = new(SourceKind.Queue, "redis", list, ns);

    private RedisKey Processing => $"{list}:fnop:{consumer}:processing";

    private RedisKey Deliveries => $"{list}:fnop:{consumer}:deliveries";

    private IDatabase Db => (redis ?? throw new InvalidOperationException("not connected")).GetDatabase();

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        redis = await RedisConnect.OpenAsync(url, credentials, cancellationToken).ConfigureAwait(false);
        for (var moved = 0; moved < 1_000_000 && await Db.ListMoveAsync(Processing, list, ListSide.Left, ListSide.Right).ConfigureAwait(false) is { IsNull: false }; moved++)
        {
        }
    }

    public async Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var records = new List<SourceRecord>();
        var deadline = time.GetUtcNow() + wait;
        while (records.Count < max)
        {
            var value = await Db.ListMoveAsync(list, Processing, ListSide.Right, ListSide.Left).ConfigureAwait(false);
            if (value.IsNull)
            {
                if (records.Count > 0 || time.GetUtcNow() >= deadline)
                {
                    break;
                }

                await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            byte[] body = value!;
            var id = Convert.ToHexStringLower(SHA256.HashData(body))[..32];
            var count = await Db.HashIncrementAsync(Deliveries, id).ConfigureAwait(false);
            records.Add(new SourceRecord { Id = id, Body = body, Timestamp = time.GetUtcNow(), DeliveryCount = (int)count, Handle = value });
        }

        return records;
    }

    public async Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            await Db.ListRemoveAsync(Processing, (RedisValue)record.Handle!, 1).ConfigureAwait(false);
            await Db.HashDeleteAsync(Deliveries, record.Id).ConfigureAwait(false);
        }
    }

    public async Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            var tx = Db.CreateTransaction();
            _ = tx.ListRemoveAsync(Processing, (RedisValue)record.Handle!, 1);
            _ = tx.ListRightPushAsync(list, (RedisValue)record.Handle!);
            await tx.ExecuteAsync().ConfigureAwait(false);
        }
    }

    public Task PublishAsync(string queue, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        Db.ListLeftPushAsync(queue, payload);

    public async ValueTask DisposeAsync()
    {
        if (redis is not null)
        {
            await redis.DisposeAsync().ConfigureAwait(false);
        }
    }
}
