using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.Gateway.Queue.JetStream;

/// <summary>
/// <see cref="IInvocationQueue"/> on NATS JetStream, shared by every gateway replica. One work-queue stream (file
/// storage) holds accepted invocations on a subject per function version; each version has a durable pull consumer.
/// Enqueue returns only after the PubAck. Sync callers wait on the replica they are connected to: the invocation
/// carries that replica's reply subject, and whichever replica hands it out or receives its result sends the events
/// there. A lease token (signed, <see cref="LeaseToken"/>) lets any replica complete a lease. See docs/gateway.md.
/// </summary>
public sealed partial class JetStreamInvocationQueue : IInvocationQueue, IHostedService, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>An enqueue that JetStream has not acknowledged within this fails (500 to the caller; an event is then not accepted).</summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);
    private readonly JetStreamOptions _options;
    private readonly byte[] _leaseKey;
    private readonly Func<FunctionKey, TimeSpan> _ackWaitOf;
    private readonly TimeSpan _maxStartWait;
    private readonly TimeProvider _time;
    private readonly ILogger<JetStreamInvocationQueue> _logger;
    private readonly NatsConnection _nats;
    private readonly NatsJSContext _js;
    private readonly string _replySubject = $"{JetStreamNames.ReplyPrefix}.{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, SyncHandle> _callers = new(StringComparer.Ordinal);
    /// <summary>Cancelled when the replica stops leasing (ApplicationStopping); its callers are still served.</summary>
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Cancelled when the queue itself stops (after the web server): the background loops end.</summary>
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<Task> _loops = [];
    private int _disposed;

    /// <param name="options">Server, stream and limits.</param>
    /// <param name="leaseKey">Key signing lease tokens; the same on every replica (the cluster key). Null: a random key (one replica).</param>
    /// <param name="ackWaitOf">The lease length of a function's invocations (timeout + margin).</param>
    /// <param name="maxStartWait">How long a sync caller waits for a worker; a sync invocation is not handed out later than this.</param>
    public JetStreamInvocationQueue(JetStreamOptions options, byte[]? leaseKey, Func<FunctionKey, TimeSpan> ackWaitOf, TimeSpan maxStartWait,
        TimeProvider time, ILogger<JetStreamInvocationQueue> logger)
    {
        _options = options;
        _leaseKey = leaseKey ?? RandomNumberGenerator.GetBytes(32);
        _ackWaitOf = ackWaitOf;
        _maxStartWait = maxStartWait;
        _time = time;
        _logger = logger;
        _nats = new NatsConnection(new NatsOpts
        {
            Url = options.Url,
            Name = "fnoperator-gateway",
            AuthOpts = options.User is null ? NatsAuthOpts.Default : new NatsAuthOpts { Username = options.User, Password = options.Password },
            // Reconnect forever with jittered backoff (0.2 s to 5 s): a gateway without its queue answers 500s until NATS is back.
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(5),
            ReconnectJitter = TimeSpan.FromMilliseconds(200),
            RetryOnInitialConnect = true,
            // While disconnected a publish fails (the caller gets 500, never a 202 for an event not stored) instead of waiting.
            PublishTimeoutOnDisconnected = true,
            RequestTimeout = TimeSpan.FromSeconds(10),
            TlsOpts = options.CaFile is null ? NatsTlsOpts.Default : new NatsTlsOpts { CaFile = options.CaFile, Mode = TlsMode.Require },
        });
        _js = new NatsJSContext(_nats);
    }

    public event Action<FunctionKey>? WorkArrived;

    /// <summary>The queue's JetStream context (one NATS connection per replica; the destination queues use it too).</summary>
    internal NatsJSContext Context => _js;

    /// <summary>True while connected to NATS (readiness).</summary>
    public bool Connected => _nats.ConnectionState == NatsConnectionState.Open;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _nats.ConnectAsync().ConfigureAwait(false);
        await _js.CreateOrUpdateStreamAsync(new StreamConfig(_options.Stream, [_options.SubjectPrefix + ".>"])
        {
            Retention = StreamConfigRetention.Workqueue,
            Storage = StreamConfigStorage.File,
            DuplicateWindow = _options.DuplicateWindow,
            AllowDirect = true,
            NumReplicas = _options.StreamReplicas,
        }, cancellationToken).ConfigureAwait(false);
        var replies = await _nats.SubscribeCoreAsync<byte[]>(_replySubject, cancellationToken: cancellationToken).ConfigureAwait(false);
        var work = await _nats.SubscribeCoreAsync<byte[]>(_options.WorkPrefix + ".>", cancellationToken: cancellationToken).ConfigureAwait(false);
        _loops.Add(Task.Run(() => ReadEventsAsync(replies, _shutdown.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => ReadWorkAsync(work, _shutdown.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => StatsLoopAsync(_shutdown.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => LeaseLoopAsync(_shutdown.Token), CancellationToken.None));
        LogConnected(_logger, _options.Url, _options.Stream, _replySubject);
    }

    /// <summary>Stops leasing (pending next calls answer empty); leases already handed out stay completable from any replica.</summary>
    public void StopLeasing() => _stopping.Cancel();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _shutdown.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown budget is spent; disposing the connection ends the loops.
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Registered both as the queue and as a hosted service: the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _shutdown.CancelAsync().ConfigureAwait(false);
        await _nats.DisposeAsync().ConfigureAwait(false);
        _refresh.Dispose();
    }

    public async ValueTask EnqueueAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders();
        if (options.Delay > TimeSpan.Zero)
        {
            headers[JetStreamNames.NotBeforeHeader] = UnixMs(_time.GetUtcNow() + options.Delay);
        }

        DateTimeOffset? acceptBy = null;
        if (options.FromCaller)
        {
            // Wall clock, not _time: it is compared with the server's stored time of the message.
            acceptBy = DateTimeOffset.UtcNow + PublishTimeout;
            headers[JetStreamNames.AcceptByHeader] = UnixMs(acceptBy.Value);
        }

        // The message id makes a follow-up published twice (a result posted twice, a crash before the ack) one message.
        await PublishAsync(invocation, headers, $"{invocation.RequestId}:{invocation.Attempt}", cancellationToken, acceptBy).ConfigureAwait(false);
    }

    public async ValueTask<ISyncInvocation> EnqueueSyncAsync(Invocation invocation, EnqueueOptions options, CancellationToken cancellationToken)
    {
        var headers = new NatsHeaders
        {
            [JetStreamNames.ReplyHeader] = _replySubject,
            [JetStreamNames.StartByHeader] = UnixMs(_time.GetUtcNow() + _maxStartWait),
        };
        var key = Key(invocation);
        Waiting(invocation, +1);
        var handle = new SyncHandle(invocation, 0, TryWithdraw);
        _callers[invocation.RequestId] = handle;
        try
        {
            var sequence = await PublishAsync(invocation, headers, invocation.RequestId, cancellationToken).ConfigureAwait(false);
            handle.SetSequence(sequence);
            return handle;
        }
        catch
        {
            _callers.TryRemove(invocation.RequestId, out _);
            Waiting(invocation, -1);
            throw;
        }
    }

    /// <param name="acceptBy">
    /// Set for an enqueue a caller waits on (<see cref="JetStreamNames.AcceptByHeader"/>): a failed publish that may have
    /// been written to the connection is reported no earlier than this, so any copy stored later is recognisably one whose
    /// caller was told "not accepted".
    /// </param>
    private async Task<ulong> PublishAsync(Invocation invocation, NatsHeaders headers, string messageId, CancellationToken cancellationToken,
        DateTimeOffset? acceptBy = null)
    {
        var key = Key(invocation);
        var subject = JetStreamNames.Subject(_options.SubjectPrefix, key, invocation.Version);
        var wasIdle = IsIdle(key, invocation.Version);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PublishTimeout);
        // While disconnected the client refuses the publish (PublishTimeoutOnDisconnected) and nothing is written; when
        // connected, the bytes may sit in the client's buffer and be replayed after a reconnect.
        var mayBeWritten = _nats.ConnectionState == NatsConnectionState.Open;
        PubAckResponse ack;
        try
        {
            await EnsureConsumerAsync(key, invocation.Version, timeout.Token).ConfigureAwait(false);
            ack = await _js.PublishAsync(subject, JsonSerializer.SerializeToUtf8Bytes(invocation with { LeaseToken = null }, Json),
                opts: new NatsJSPubOpts { MsgId = messageId }, headers: headers, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (acceptBy is { } by && mayBeWritten && !cancellationToken.IsCancellationRequested)
        {
            // Answer the caller only once a late copy would be recognised as such at hand-out.
            if (by - DateTimeOffset.UtcNow is { } rest && rest > TimeSpan.Zero)
            {
                await Task.Delay(rest, CancellationToken.None).ConfigureAwait(false);
            }

            throw ex is OperationCanceledException
                ? new TimeoutException($"JetStream did not acknowledge the invocation within {PublishTimeout.TotalSeconds:0} s (is NATS reachable?)")
                : ex;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"JetStream did not acknowledge the invocation within {PublishTimeout.TotalSeconds:0} s (is NATS reachable?)");
        }

        // A duplicate is a publish JetStream already stored under this message id (a retry after an answer that was
        // lost or came too late): the invocation is queued, once, which is what the caller asked for.
        if (!ack.Duplicate)
        {
            ack.EnsureSuccess();
        }

        NoteQueued(key, invocation.Version, ack.Seq);
        if (wasIdle)
        {
            // The push for autoscalers (and the other replicas' WorkArrived): work arrived for a version at zero.
            await _nats.PublishAsync(_options.WorkPrefix + subject[_options.SubjectPrefix.Length..], cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        WorkArrived?.Invoke(key);
        return ack.Seq;
    }

    /// <summary>Withdraws a sync invocation no worker holds: it is deleted from the stream (best effort; a copy that raced to a worker runs and its result is dropped).</summary>
    private bool TryWithdraw(SyncHandle handle)
    {
        if (handle.Running || handle.Result.IsCompleted || !_callers.TryRemove(handle.Invocation.RequestId, out _))
        {
            return false;
        }

        if (handle.TryLeaveWaiting())
        {
            Waiting(handle.Invocation, -1);
        }

        handle.Cancel();
        var sequence = handle.Sequence;
        _ = Task.Run(async () =>
        {
            try
            {
                await _js.DeleteMessageAsync(_options.Stream, new StreamMsgDeleteRequest { Seq = sequence, NoErase = true }).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsJSApiException or NatsException or TimeoutException)
            {
                LogWithdrawFailed(_logger, handle.Invocation.RequestId, ex.Message);
            }
        });
        return true;
    }

    public IReadOnlyList<Invocation> TakeQueued(FunctionKey key, Func<Invocation, bool> predicate) => [];

    public Task WaitForWorkAsync(FunctionKey key, CancellationToken cancellationToken) => QueueWork.WaitAsync(this, key, cancellationToken);

    /// <summary>"Work arrived at zero" pushes from any replica, raised here as <see cref="WorkArrived"/>.</summary>
    private async Task ReadWorkAsync(INatsSub<byte[]> pushes, CancellationToken cancellationToken)
    {
        // Not disposed here: unsubscribing waits for a connection; disposing the connection ends the subscription.
        try
        {
            await foreach (var msg in pushes.Msgs.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (JetStreamNames.TryParse(_options.WorkPrefix, msg.Subject, out var key, out _))
                {
                    NoteChanged();
                    WorkArrived?.Invoke(key);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static FunctionKey Key(Invocation invocation) => new(invocation.Namespace, invocation.FunctionName);

    private static string UnixMs(DateTimeOffset at) => at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    private static DateTimeOffset? ReadUnixMs(NatsHeaders? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) && long.TryParse(value.ToString(), CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected invocation queue url={Url} stream={Stream} replySubject={ReplySubject}")]
    private static partial void LogConnected(ILogger logger, string url, string stream, string replySubject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to delete withdrawn sync invocation requestId={RequestId} error={Error}")]
    private static partial void LogWithdrawFailed(ILogger logger, string requestId, string error);
}
