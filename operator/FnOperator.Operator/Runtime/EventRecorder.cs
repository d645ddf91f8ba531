using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Runtime;

/// <summary>The two Event types Kubernetes knows.</summary>
public enum EventType
{
    Normal,
    Warning,
}

/// <summary>Records Kubernetes Events about an object, for <c>kubectl describe</c>. Never blocks and never throws.</summary>
public interface IEventRecorder
{
    void Record(IKubernetesObject<V1ObjectMeta> regarding, EventType type, string reason, string message);
}

/// <summary>How the recorder aggregates: the same reason about the same object within <see cref="Window"/> is one Event.</summary>
public sealed record EventRecorderOptions
{
    /// <summary>Repeats within this window bump the existing Event's count instead of creating a new one.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>At most one count update per Event within this interval; repeats meanwhile are summed.</summary>
    public TimeSpan UpdateInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Events tracked for aggregation; the least recently seen is forgotten beyond this.</summary>
    public int MaxTracked { get; init; } = 4096;

    /// <summary>Records waiting to be written; more are dropped (and counted in the log) rather than slowing reconciles.</summary>
    public int QueueLength { get; init; } = 1024;

    public string Component { get; init; } = "fn-operator";

    public string Instance { get; init; } = "";
}

/// <summary>
/// core/v1 Events with client-go's aggregation: the first occurrence creates an Event; repeats of the same
/// (object, type, reason) within the window are counted in memory and written as one merge patch of count,
/// lastTimestamp and message at most once per update interval. Memory is bounded by <see cref="EventRecorderOptions.MaxTracked"/>
/// and the queue length, so a hot loop costs at most one API write per second per Event.
/// </summary>
public sealed partial class EventRecorder(IKubernetes client, EventRecorderOptions options, TimeProvider time, ILogger<EventRecorder> logger)
    : BackgroundService, IEventRecorder
{
    private readonly Channel<Occurrence> queue = Channel.CreateBounded<Occurrence>(
        new BoundedChannelOptions(options.QueueLength) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly EventAggregator aggregator = new(options, time);
    private int dropped;

    public void Record(IKubernetesObject<V1ObjectMeta> regarding, EventType type, string reason, string message)
    {
        var reference = new V1ObjectReference
        {
            ApiVersion = regarding.ApiVersion,
            Kind = regarding.Kind,
            Name = regarding.Metadata.Name,
            NamespaceProperty = regarding.Metadata.NamespaceProperty,
            Uid = regarding.Metadata.Uid,
            ResourceVersion = regarding.Metadata.ResourceVersion,
        };
        if (!queue.Writer.TryWrite(new Occurrence(reference, type.ToString(), reason, message, time.GetUtcNow())))
        {
            Interlocked.Increment(ref dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            tick.CancelAfter(options.UpdateInterval);
            try
            {
                while (await queue.Reader.WaitToReadAsync(tick.Token).ConfigureAwait(false))
                {
                    while (queue.Reader.TryRead(out var occurrence))
                    {
                        if (aggregator.Observe(occurrence) is { } created)
                        {
                            await WriteAsync(created, stoppingToken).ConfigureAwait(false);
                        }
                    }

                    await FlushAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false); // the interval passed: write pending counts
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (Interlocked.Exchange(ref dropped, 0) is var lost and > 0)
            {
                LogDropped(lost);
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var due in aggregator.Due())
        {
            await WriteAsync(due, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(EventAggregator.Entry entry, CancellationToken cancellationToken)
    {
        var (count, last, message) = entry.Snapshot();
        try
        {
            if (entry.Name is null)
            {
                var created = await client.CoreV1.CreateNamespacedEventAsync(NewEvent(entry, count, last, message), entry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                entry.Written(created.Metadata.Name, count, time.GetUtcNow());
                return;
            }

            var patch = new V1Patch(new { count, lastTimestamp = last.UtcDateTime, message }, V1Patch.PatchType.MergePatch);
            await client.CoreV1.PatchNamespacedEventAsync(patch, entry.Name, entry.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            entry.Written(entry.Name, count, time.GetUtcNow());
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Events are best effort (as in client-go): a lost Event never fails a reconcile. A patch of an Event that
            // expired meanwhile creates a new one next time.
            entry.Failed(e is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound }, time.GetUtcNow());
            LogWriteFailed(e, entry.Reason, entry.Regarding.Kind, entry.Namespace, entry.Regarding.Name);
        }
    }

    private Corev1Event NewEvent(EventAggregator.Entry entry, int count, DateTimeOffset last, string message) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"{entry.Regarding.Name}.{time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000 + Random.Shared.Next(1_000_000):x}",
            NamespaceProperty = entry.Namespace,
        },
        InvolvedObject = entry.Regarding,
        Type = entry.Type,
        Reason = entry.Reason,
        Message = message,
        Count = count,
        FirstTimestamp = entry.First.UtcDateTime,
        LastTimestamp = last.UtcDateTime,
        Source = new V1EventSource { Component = options.Component },
        ReportingComponent = options.Component,
        ReportingInstance = options.Instance,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to write Event reason={Reason} kind={Kind} namespace={Namespace} name={Name}")]
    private partial void LogWriteFailed(Exception exception, string reason, string kind, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped Events count={Count}: the recorder's queue was full")]
    private partial void LogDropped(int count);
}

/// <summary>One call of <see cref="IEventRecorder.Record"/>.</summary>
internal sealed record Occurrence(V1ObjectReference Regarding, string Type, string Reason, string Message, DateTimeOffset At);
