using System.Collections.Concurrent;
using FnOperator.Contracts;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Streaming;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Local;

/// <summary>
/// The invocations of one function version for a shim hosted in the gateway's own process (<c>--instances in-process</c>):
/// the pull protocol's semantics through <see cref="PullCore"/>, the same core the HTTP endpoints call, without HTTP,
/// JSON or base64. <see cref="NextAsync"/> is the long poll (20 s per lease wait, cold-start presence while it waits),
/// <see cref="CompleteAsync"/> the result (the sync caller, the async processor and destinations), <see cref="ReleaseAsync"/>
/// the release; a removed version closes the source (the HTTP 410). A streamed response goes straight into the waiting
/// caller's pipe. Leases still held when the instance is gone are given up by <see cref="AbandonLeasesAsync"/>.
/// </summary>
public sealed partial class InProcessInvocationSource(
    PullCore core, FunctionKey key, string version, ResponseStreams streams, ILogger<InProcessInvocationSource> logger) : IInvocationSource, IResponseStreamSink
{
    /// <summary>The lease wait of one poll, as the shim process's `next` asks for (<c>waitMs=20000</c>).</summary>
    public const int WaitMs = 20_000;

    private readonly ConcurrentDictionary<string, Invocation> leased = new(StringComparer.Ordinal);
    private volatile bool cut;

    /// <summary>Invocations this instance holds now (handed out, not completed or released).</summary>
    public int Leased => leased.Count;

    public async ValueTask<Invocation?> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!core.HasVersion(key, version))
            {
                LogSourceClosed(logger, key.Namespace, key.Name, version);
                return null;
            }

            Invocation? invocation;
            using (core.BeginPoll(key, version))
            {
                invocation = await core.NextAsync(key, version, WaitMs, instance: null, cancellationToken).ConfigureAwait(false);
            }

            if (invocation is null)
            {
                continue; // the wait ran out (or the stop came: the check above throws)
            }

            if (cancellationToken.IsCancellationRequested)
            {
                // Leased as the shim began to stop: handed back, as a hand-out whose write failed is.
                await core.HandOutFailedAsync(invocation).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }

            leased[invocation.RequestId] = invocation;
            return invocation;
        }
    }

    /// <summary>
    /// Local mode's "stop now" (a second Ctrl-C): from here on nothing this instance reports reaches the queue, as when
    /// a shim process is killed: its sync callers' connections are cut when the gateway stops (not answered with the
    /// killed runtime's Runtime.ExitError), its events stay leased in the queue.
    /// </summary>
    public void Cut() => cut = true;

    public async ValueTask CompleteAsync(Invocation invocation, InvocationResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        leased.TryRemove(invocation.RequestId, out _);
        if (cut)
        {
            LogCut(logger, "result", invocation.RequestId);
            return;
        }

        // The result is the only copy: recorded whatever the caller's token says.
        if (await core.CompleteAsync(invocation.RequestId, invocation.LeaseToken ?? "", result).ConfigureAwait(false) is null)
        {
            LogNotInFlight(logger, "result", invocation.RequestId);
        }
    }

    public async ValueTask ReleaseAsync(Invocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        leased.TryRemove(invocation.RequestId, out _);
        if (cut)
        {
            LogCut(logger, "release", invocation.RequestId);
            return;
        }

        if (!await core.ReleaseAsync(invocation.RequestId, invocation.LeaseToken ?? "", CancellationToken.None).ConfigureAwait(false))
        {
            LogNotInFlight(logger, "release", invocation.RequestId);
        }
    }

    /// <summary>
    /// Pipes a streamed response to its caller waiting in this gateway (false, the body unread, when none waits: the
    /// caller falls back to the result). Bounded by the shim (200 MB); read to its end even after the caller went away,
    /// so the runtime's response completes. A stream cut by the shim (timeout, runtime exit) ends the caller's stream with an error.
    /// </summary>
    public async Task<bool> StreamAsync(Invocation invocation, string contentType, Stream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(body);
        var stream = streams.Find(invocation.RequestId);
        if (stream is null)
        {
            return false;
        }

        if (!stream.TryClaim(string.IsNullOrEmpty(contentType) ? "application/octet-stream" : contentType))
        {
            throw new IOException($"The response of {invocation.RequestId} is already streaming.");
        }

        var writer = stream.Pipe.Writer;
        var callerGone = false;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(16 * 1024);
                var read = await body.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (callerGone)
                {
                    continue;
                }

                writer.Advance(read);
                var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
                callerGone = flushed.IsCompleted;
            }

            await writer.CompleteAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            await writer.CompleteAsync(new IOException("The function's response stream was cut.", e)).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The instance is gone with leases still held (killed while draining): a sync caller gets the lost-instance error at
    /// once (Runtime.ExitError, what the lease's expiry would give it, never a second run); an event's lease is left to
    /// expire, so the queue delivers it again (at least once), as for a shim process that died.
    /// </summary>
    public async Task AbandonLeasesAsync()
    {
        if (cut)
        {
            return; // stopped now: the leases stay as a killed shim process leaves them
        }

        foreach (var (requestId, invocation) in leased.ToArray())
        {
            if (!leased.TryRemove(requestId, out _) || invocation.Type == InvocationType.Event)
            {
                continue;
            }

            await core.CompleteAsync(requestId, invocation.LeaseToken ?? "", LeaseLost.Result(invocation)).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "In-process {Operation} for {RequestId} dropped: local mode is stopping now")]
    private static partial void LogCut(ILogger logger, string operation, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "In-process instance source closed: function version {Namespace}/{Name}:{Version} is gone")]
    private static partial void LogSourceClosed(ILogger logger, string @namespace, string name, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "In-process {Operation} for {RequestId} ignored: not in flight (completed, released or its lease expired)")]
    private static partial void LogNotInFlight(ILogger logger, string operation, string requestId);
}
