using FnOperator.Gateway.Async;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>
/// <see cref="IDestinationQueues"/> on JetStream, shared by every replica and kept across restarts: one stream
/// (<see cref="JetStreamOptions.DestinationStream"/>, file storage, limits retention, discard old) with a subject per
/// queue, <c>{DestinationPrefix}.{escaped name}</c>. Bounded per queue (<paramref name="capacity"/> records) and in
/// total (<see cref="JetStreamOptions.DestinationMaxBytes"/>); past a limit the oldest records go. A publish counts
/// once JetStream acknowledged it; its message id makes a second publish of the same record a duplicate (success).
/// A receive is get-then-delete by sequence: only the replica whose delete succeeds returns the record.
/// </summary>
public sealed partial class JetStreamDestinations(JetStreamInvocationQueue queue, JetStreamOptions options, int capacity,
    ILogger<JetStreamDestinations> logger) : IDestinationQueues
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _ensure = new(1, 1);
    private volatile bool _ready;

    private NatsJSContext Js => queue.Context;

    public async ValueTask PublishAsync(string name, string messageId, byte[] message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PublishTimeout);
        PubAckResponse ack;
        try
        {
            await EnsureStreamAsync(timeout.Token).ConfigureAwait(false);
            ack = await Js.PublishAsync(Subject(name), message, opts: new NatsJSPubOpts { MsgId = messageId }, cancellationToken: timeout.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _ready = false;
            throw new TimeoutException($"JetStream did not acknowledge the destination record within {PublishTimeout.TotalSeconds:0} s (is NATS reachable?)");
        }
        catch (Exception ex) when (ex is NatsJSException or NatsException)
        {
            // The stream may be gone (a NATS server that lost its storage): make it again on the next try.
            _ready = false;
            throw;
        }

        // A duplicate is this record, stored before (a completion posted twice, or retried after a lost answer).
        if (!ack.Duplicate)
        {
            ack.EnsureSuccess();
        }

        LogPublished(logger, name, messageId, ack.Seq, ack.Duplicate);
    }

    public async ValueTask<IReadOnlyList<byte[]>> ReceiveAsync(string name, int max, CancellationToken cancellationToken)
    {
        await EnsureStreamAsync(cancellationToken).ConfigureAwait(false);
        var stream = await Js.GetStreamAsync(options.DestinationStream, cancellationToken: cancellationToken).ConfigureAwait(false);
        var subject = Subject(name);
        var messages = new List<byte[]>();
        ulong next = 0;
        while (messages.Count < max)
        {
            StreamMsgGetResponse found;
            try
            {
                found = await stream.GetAsync(new StreamMsgGetRequest { Seq = next, NextBySubj = subject }, cancellationToken).ConfigureAwait(false);
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404)
            {
                break;
            }

            var seq = found.Message.Seq;
            next = seq + 1;
            if (await TryTakeAsync(seq, cancellationToken).ConfigureAwait(false))
            {
                messages.Add(found.Message.Data.ToArray());
            }
        }

        return messages;
    }

    public async ValueTask<IReadOnlyDictionary<string, long>> DepthsAsync(CancellationToken cancellationToken)
    {
        await EnsureStreamAsync(cancellationToken).ConfigureAwait(false);
        var depths = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var prefix = options.DestinationPrefix + ".";

        // Stream info pages its subject list; a bounded number of pages (each up to the server's page size).
        for (var page = 0; page < 100; page++)
        {
            var stream = await Js.GetStreamAsync(options.DestinationStream, new StreamInfoRequest { SubjectsFilter = prefix + ">", Offset = depths.Count },
                cancellationToken).ConfigureAwait(false);
            var subjects = stream.Info.State.Subjects;
            if (subjects is null || subjects.Count == 0)
            {
                break;
            }

            foreach (var (subject, count) in subjects)
            {
                depths[Uri.UnescapeDataString(subject[prefix.Length..])] = count;
            }

            if (depths.Count >= stream.Info.State.NumSubjects)
            {
                break;
            }
        }

        return depths;
    }

    private string Subject(string name) => $"{options.DestinationPrefix}.{JetStreamNames.Token(name)}";

    /// <summary>Deletes the record; true for the one caller whose delete removed it (another replica's receive may have taken it).</summary>
    private async Task<bool> TryTakeAsync(ulong seq, CancellationToken cancellationToken)
    {
        try
        {
            var deleted = await Js.DeleteMessageAsync(options.DestinationStream, new StreamMsgDeleteRequest { Seq = seq, NoErase = true }, cancellationToken)
                .ConfigureAwait(false);
            return deleted.Success;
        }
        catch (NatsJSApiException ex)
        {
            LogTakenElsewhere(logger, seq, ex.Error.Description ?? "");
            return false;
        }
    }

    private async Task EnsureStreamAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return;
        }

        await _ensure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ready)
            {
                await Js.CreateOrUpdateStreamAsync(new StreamConfig(options.DestinationStream, [options.DestinationPrefix + ".>"])
                {
                    Retention = StreamConfigRetention.Limits,
                    Storage = StreamConfigStorage.File,
                    Discard = StreamConfigDiscard.Old,
                    MaxMsgsPerSubject = capacity,
                    MaxBytes = options.DestinationMaxBytes,
                    DuplicateWindow = options.DuplicateWindow,
                    AllowDirect = true,
                    NumReplicas = options.StreamReplicas,
                }, cancellationToken).ConfigureAwait(false);
                _ready = true;
                LogStreamReady(logger, options.DestinationStream, capacity, options.DestinationMaxBytes);
            }
        }
        finally
        {
            _ensure.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ensured destination stream stream={Stream} maxPerQueue={MaxPerQueue} maxBytes={MaxBytes}")]
    private static partial void LogStreamReady(ILogger logger, string stream, int maxPerQueue, long maxBytes);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stored destination record queue={Queue} messageId={MessageId} seq={Seq} duplicate={Duplicate}")]
    private static partial void LogPublished(ILogger logger, string queue, string messageId, ulong seq, bool duplicate);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Skipped destination record taken by another reader seq={Seq} reason={Reason}")]
    private static partial void LogTakenElsewhere(ILogger logger, ulong seq, string reason);
}
