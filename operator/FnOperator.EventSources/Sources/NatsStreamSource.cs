using System.Globalization;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace FnOperator.EventSources.Sources;

/// <summary>
/// A JetStream stream read in order by an ordered (ephemeral) consumer from the checkpoint. The checkpoint — the last
/// stream sequence processed — is kept in the JetStream key-value bucket <c>fnop-esm-checkpoints</c> under the
/// mapping's consumer name, so it survives a poller restart and a leader failover. Without a checkpoint the starting
/// position decides: TRIM_HORIZON the first record, LATEST the records after the connect (written as the checkpoint at
/// once), AT_TIMESTAMP the first record at or after the timestamp.
/// </summary>
public sealed class NatsStreamSource(string url, string stream, string consumer, string ns, SourceCredentials credentials, StartingPosition start) : IRecordSource
{
    public const string CheckpointBucket = "fnop-esm-checkpoints";

    private NatsConnection? connection;
    private INatsJSContext? js;
    private INatsKVStore? checkpoints;
    private INatsJSConsumer? reader;

    public SourceIdentity Identity { get; } = new(SourceKind.Stream, "nats", stream, ns);

    private string Key => NatsConnect.ConsumerName(consumer);

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        connection = await NatsConnect.OpenAsync(url, credentials, cancellationToken).ConfigureAwait(false);
        js = new NatsJSContext(connection);
        try
        {
            var info = await js.GetStreamAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
            checkpoints = await new NatsKVContext(js).CreateOrUpdateStoreAsync(new NatsKVConfig(CheckpointBucket), cancellationToken).ConfigureAwait(false);
            var next = await CheckpointAsync(cancellationToken).ConfigureAwait(false);
            if (next is null)
            {
                next = start.Position switch
                {
                    StartingPosition.Latest => info.Info.State.LastSeq + 1,
                    StartingPosition.AtTimestamp => await FirstAtAsync(start.Timestamp ?? DateTimeOffset.UtcNow, info.Info.State.LastSeq + 1, cancellationToken).ConfigureAwait(false),
                    _ => Math.Max(1, info.Info.State.FirstSeq),
                };
                await SaveAsync(next.Value - 1, cancellationToken).ConfigureAwait(false);
            }

            reader = await js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                OptStartSeq = next.Value,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsNoRespondersException e)
        {
            throw new SourceException(SourceFailure.Invalid, $"nats {url}: JetStream is not enabled on the server (no responders; start nats-server with -js)", e);
        }
        catch (NatsJSApiException e)
        {
            throw new SourceException(SourceFailure.Invalid, $"nats stream {stream}: {e.Error.Description}", e);
        }
    }

    public async Task<IReadOnlyList<SourceRecord>> ReceiveAsync(int max, TimeSpan wait, CancellationToken cancellationToken)
    {
        var records = new List<SourceRecord>();
        var expires = wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait;
        await foreach (var msg in Reader.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = max, Expires = expires }, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var seq = msg.Metadata?.Sequence.Stream ?? 0;
            records.Add(new SourceRecord
            {
                Id = seq.ToString(CultureInfo.InvariantCulture),
                Body = msg.Data ?? [],
                Timestamp = msg.Metadata?.Timestamp ?? DateTimeOffset.UtcNow,
                PartitionKey = msg.Headers?.TryGetValue("Partition-Key", out var key) == true ? key.ToString() : msg.Subject,
                Sequence = seq,
                Attributes = NatsConnect.Headers(msg.Headers),
            });
        }

        return records;
    }

    public Task AckAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) =>
        records.Count == 0 ? Task.CompletedTask : SaveAsync(records.Max(r => r.Sequence), cancellationToken);

    public Task ReleaseAsync(IReadOnlyList<SourceRecord> records, CancellationToken cancellationToken) => Task.CompletedTask;

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

    /// <summary>The next sequence to read from the stored checkpoint, or null when the mapping has none yet.</summary>
    private async Task<ulong?> CheckpointAsync(CancellationToken cancellationToken)
    {
        try
        {
            var entry = await checkpoints!.GetEntryAsync<string>(Key, cancellationToken: cancellationToken).ConfigureAwait(false);
            return ulong.Parse(entry.Value!, CultureInfo.InvariantCulture) + 1;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
    }

    private async Task SaveAsync(ulong processed, CancellationToken cancellationToken) =>
        await checkpoints!.PutAsync(Key, processed.ToString(CultureInfo.InvariantCulture), cancellationToken: cancellationToken).ConfigureAwait(false);

    private async Task<ulong> FirstAtAsync(DateTimeOffset at, ulong fallback, CancellationToken cancellationToken)
    {
        var probe = await Js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime, OptStartTime = at }, cancellationToken).ConfigureAwait(false);
        await foreach (var msg in probe.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1, Expires = TimeSpan.FromSeconds(1) }, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            return msg.Metadata?.Sequence.Stream ?? fallback;
        }

        return fallback;
    }

    private INatsJSConsumer Reader => reader ?? throw new InvalidOperationException("not connected");

    private INatsJSContext Js => js ?? throw new InvalidOperationException("not connected");
}

/// <summary>A stream mapping's startingPosition (and startingPositionTimestamp).</summary>
public sealed record StartingPosition(string Position, DateTimeOffset? Timestamp = null)
{
    public const string TrimHorizon = "TRIM_HORIZON";
    public const string Latest = "LATEST";
    public const string AtTimestamp = "AT_TIMESTAMP";
}
