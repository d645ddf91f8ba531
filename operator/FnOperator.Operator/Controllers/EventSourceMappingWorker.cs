using System.Net;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources;
using FnOperator.EventSources.Schedules;
using FnOperator.Operator.Hosting;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The leader-only poller of one EventSourceMapping (registered with AddLeaderWorker: restarted on a spec change,
/// stopped on delete or a lost lease). Disabled mappings poll nothing; their position stays in the source. The poller
/// starts once the Function exists and invokes it through the gateway's Invoke API (<c>Operator:GatewayUrl</c>).
/// </summary>
public sealed partial class EventSourceMappingWorker(
    Informer<Function> functions, Informer<EventSourceMapping> mappings, IKubernetes client, IFunctionInvoker invoker, EventSourceMappingRuntime runtime,
    IEventRecorder events, TimeProvider time, ILogger<EventSourceMappingWorker> logger) : IObjectWorker<EventSourceMapping>
{
    private static readonly TimeSpan FunctionWait = TimeSpan.FromSeconds(5);

    public async Task RunAsync(EventSourceMapping mapping, CancellationToken cancellationToken)
    {
        var key = ObjectKey.Of(mapping);
        var generation = mapping.Metadata.Generation ?? 0;
        if (!mapping.Spec.Enabled)
        {
            return; // disabled: nothing polls; the position stays in the source (or the last fired tick in the annotation)
        }

        var functionKey = new ObjectKey(key.Namespace, FunctionName(mapping));
        while (functions.Get(functionKey) is null)
        {
            await Task.Delay(FunctionWait, time, cancellationToken).ConfigureAwait(false);
        }

        if (mapping.Spec.Source.Schedule is { } schedule)
        {
            await RunScheduleAsync(mapping, schedule, key, generation, cancellationToken).ConfigureAwait(false);
            return;
        }

        PollerSettings settings;
        Func<IRecordSource>? connect;
        try
        {
            settings = PollerSettings.From(mapping);
            var credentials = await CredentialsAsync(mapping, cancellationToken).ConfigureAwait(false);
            connect = SourceFactory.For(mapping, credentials, time);
        }
        catch (Exception e) when (e is SourceException or FilterPatternException)
        {
            runtime.Update(key, generation, s => s with { Connected = false, Error = e as SourceException ?? new SourceException(SourceFailure.Invalid, e.Message) });
            return;
        }

        if (connect is null)
        {
            return;
        }

        LogPollerStarted(key.Namespace, key.Name, mapping.Spec.FunctionName);
        var observer = new Observer(runtime, events, this, mapping, key, generation);
        await new Poller(connect, settings, invoker, observer, time).RunAsync(cancellationToken).ConfigureAwait(false);
        LogPollerStopped(key.Namespace, key.Name);
    }

    public static string FunctionName(EventSourceMapping mapping) => mapping.Spec.FunctionName.Split(':')[0];

    private async Task RunScheduleAsync(EventSourceMapping mapping, ScheduleSource source, ObjectKey key, long generation, CancellationToken cancellationToken)
    {
        Schedule schedule;
        try
        {
            schedule = Schedule.Parse(source.Expression, source.Timezone, mapping.Metadata.CreationTimestamp is { } c ? new DateTimeOffset(DateTime.SpecifyKind(c, DateTimeKind.Utc)) : time.GetUtcNow());
        }
        catch (FormatException e)
        {
            runtime.Update(key, generation, s => s with { Connected = false, Error = new SourceException(SourceFailure.Invalid, e.Message) });
            return;
        }

        var parts = mapping.Spec.FunctionName.Split(':');
        var target = new ScheduleTarget($"{key.Namespace}/{parts[0]}", parts.Length > 1 ? parts[1] : null, source.Input, key.Namespace, key.Name,
            mapping.Spec.MaximumRetryAttempts, mapping.Spec.DestinationConfig?.OnFailure?.Function);
        var observer = new Observer(runtime, events, this, mapping, key, generation);
        observer.Connected(new SourceIdentity(SourceKind.Queue, "schedule", key.Name, key.Namespace));
        LogPollerStarted(key.Namespace, key.Name, mapping.Spec.FunctionName);
        await new ScheduleRunner(schedule, target, new ScheduleTickStore(client, mappings, key), invoker, observer, time).RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SourceCredentials> CredentialsAsync(EventSourceMapping mapping, CancellationToken cancellationToken)
    {
        if (SourceFactory.CredentialsSecret(mapping) is not { } name)
        {
            return SourceCredentials.None;
        }

        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(name, mapping.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            return SourceFactory.Credentials(secret.Data);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden)
        {
            throw new SourceException(SourceFailure.AuthFailed, $"credentials Secret {name}: {e.Response.StatusCode}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started poller namespace={Namespace} name={Name} function={Function}")]
    private partial void LogPollerStarted(string @namespace, string name, string function);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopped poller namespace={Namespace} name={Name}")]
    private partial void LogPollerStopped(string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The gateway refused the poller's invoke namespace={Namespace} name={Name} error={Error}")]
    private partial void LogInvokeDenied(string @namespace, string name, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to reach event source namespace={Namespace} name={Name} error={Error}")]
    private partial void LogSourceFailed(string @namespace, string name, string error);

    private sealed class Observer(EventSourceMappingRuntime runtime, IEventRecorder events, EventSourceMappingWorker worker, EventSourceMapping mapping, ObjectKey key, long generation) : IPollerObserver
    {
        public void Connected(SourceIdentity source)
        {
            runtime.Update(key, generation, s => s with { Connected = true, Error = null });
            events.Record(mapping, EventType.Normal, EventSourceMappingReasons.SourceConnected, $"Connected to {source.Arn}");
        }

        public void Processed(string result, int records, DateTimeOffset at) =>
            runtime.Update(key, generation, s => s with { LastResult = result, LastProcessedAt = at, InvokeDenied = null });

        public void InvokeDenied(string message)
        {
            runtime.Update(key, generation, s => s with { InvokeDenied = message, LastResult = $"PROBLEM: {message}" });
            worker.LogInvokeDenied(key.Namespace, key.Name, message);
        }

        public void SourceFailed(SourceException error)
        {
            runtime.Update(key, generation, s => s with { Connected = false, Error = error });
            worker.LogSourceFailed(key.Namespace, key.Name, error.Message);
        }

        public void Discarded(int records, string condition) =>
            events.Record(mapping, EventType.Warning, EventSourceMappingReasons.RecordsDiscarded, $"{records} records sent to the failure destination ({condition})");
    }
}
