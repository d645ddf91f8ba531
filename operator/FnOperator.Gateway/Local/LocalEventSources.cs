using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.EventSources;
using FnOperator.EventSources.Schedules;
using k8s;
using YamlDotNet.RepresentationModel;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Local mode's event source mappings: the EventSourceMapping manifests beside the Functions run pollers (and
/// schedules) against the local gateway's Invoke API, with the same library as the operator. Each mapping gets one
/// start line: polling, or why not (function not served, invalid spec, or the source unreachable — then the poller keeps
/// reconnecting with backoff and says when it connects). Schedules keep their last tick in memory only.
/// </summary>
public static class LocalEventSources
{
    private static readonly TimeSpan Probe = TimeSpan.FromSeconds(3);

    public static async Task RunAsync(string manifestPath, ManifestSet manifests, string endpoint, Action<string> line, CancellationToken ct)
    {
        var mappings = Load(manifestPath);
        if (mappings.Count == 0)
        {
            return;
        }

        using var http = new HttpClient { BaseAddress = new Uri(endpoint), Timeout = TimeSpan.FromMinutes(16) };
        var invoker = new InvokeClient(http); // local mode runs the gateway without invoke auth: no credentials sent
        var served = manifests.Functions.Select(f => $"{f.Namespace}/{f.Name}").ToHashSet();
        var runs = new List<Task>();
        foreach (var m in mappings)
        {
            var ns = m.Metadata.NamespaceProperty ?? "default";
            var name = $"EventSourceMapping {ns}/{m.Metadata.Name}";
            var function = m.Spec.FunctionName.Split(':')[0];
            if (!served.Contains($"{ns}/{function}"))
            {
                line($"{name}: NOT POLLING — function {ns}/{function} is not served here");
                continue;
            }

            if (!m.Spec.Enabled)
            {
                line($"{name}: disabled (enabled: false)");
                continue;
            }

            try
            {
                runs.Add(await StartAsync(m, name, invoker, line, ct).ConfigureAwait(false));
            }
            catch (Exception e) when (e is SourceException or FilterPatternException or FormatException)
            {
                line($"{name}: NOT POLLING — {e.Message}");
            }
        }

        await Task.WhenAll(runs).ConfigureAwait(false);
    }

    private static async Task<Task> StartAsync(EventSourceMapping m, string name, InvokeClient invoker, Action<string> line, CancellationToken ct)
    {
        var ns = m.Metadata.NamespaceProperty ?? "default";
        if (m.Spec.Source.Schedule is { } s)
        {
            var schedule = Schedule.Parse(s.Expression, s.Timezone, DateTimeOffset.UtcNow);
            var parts = m.Spec.FunctionName.Split(':');
            var target = new ScheduleTarget($"{ns}/{parts[0]}", parts.Length > 1 ? parts[1] : null, s.Input, ns, m.Metadata.Name, m.Spec.MaximumRetryAttempts, m.Spec.DestinationConfig?.OnFailure?.Function);
            line($"{name}: schedule {s.Expression}{(s.Timezone is null ? "" : $" ({s.Timezone})")} → {m.Spec.FunctionName}, next {schedule.Next(DateTimeOffset.UtcNow):u}");
            return Run(() => new ScheduleRunner(schedule, target, new MemoryTicks(), invoker, new Printer(name, line), TimeProvider.System).RunAsync(ct));
        }

        var connect = SourceFactory.For(m, SourceCredentials.None, TimeProvider.System)!;
        var settings = PollerSettings.From(m);
        var reachable = false;
        await using (var probe = connect())
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(Probe);
            try
            {
                await probe.ConnectAsync(timeout.Token).ConfigureAwait(false);
                line($"{name}: polling {probe.Identity.Arn} → {m.Spec.FunctionName} (batch {settings.BatchSize})");
                reachable = true;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                line($"{name}: SOURCE UNREACHABLE — {Redacted(m.Spec.Source.Queue?.Url ?? m.Spec.Source.Stream?.Url ?? "")}: no answer in {Probe.TotalSeconds:0} s; retrying in the background");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A SourceException names the server and the reason; anything else (e.g. a NATS server without JetStream
                // answering "no responders") is reported the same way instead of stopping local mode's mappings.
                line($"{name}: SOURCE UNREACHABLE — {e.Message}; retrying in the background");
            }
        }

        return Run(() => new Poller(connect, settings, invoker, new Printer(name, line, failed: !reachable), TimeProvider.System).RunAsync(ct));
    }

    private static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo.Length > 0 ? url.Replace(u.UserInfo + "@", "***@", StringComparison.Ordinal) : url;

    private static Task Run(Func<Task> run) => Task.Run(async () =>
    {
        try
        {
            await run().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    });

    private static List<EventSourceMapping> Load(string path)
    {
        var mappings = new List<EventSourceMapping>();
        foreach (var file in ManifestLoader.ManifestFiles(Path.GetFullPath(path)))
        {
            var stream = new YamlStream();
            try
            {
                using var reader = new StreamReader(file);
                stream.Load(reader);
            }
            catch (YamlDotNet.Core.YamlException)
            {
                continue; // ManifestLoader already reported it
            }

            foreach (var doc in stream.Documents)
            {
                if (YamlToJson.Convert(doc.RootNode) is JsonObject obj && (string?)obj["kind"] == EventSourceMapping.KindName
                    && !ManifestLoader.HasShapeProblems(obj)) // reported by ManifestLoader
                {
                    mappings.Add(KubernetesJson.Deserialize<EventSourceMapping>(obj.ToJsonString()));
                }
            }
        }

        return mappings;
    }

    private sealed class MemoryTicks : ITickStore
    {
        private DateTimeOffset? last;

        public Task<DateTimeOffset?> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(last);

        public Task SaveAsync(DateTimeOffset tick, CancellationToken cancellationToken)
        {
            last = tick;
            return Task.CompletedTask;
        }
    }

    private sealed class Printer(string name, Action<string> line, bool failed = false) : IPollerObserver
    {

        public void Connected(SourceIdentity source)
        {
            if (failed)
            {
                failed = false;
                line($"{name}: connected to {source.Arn}");
            }
        }

        public void Processed(string result, int records, DateTimeOffset at)
        {
            if (result != "OK")
            {
                line($"{name}: {result}");
            }
        }

        public void SourceFailed(SourceException error)
        {
            if (!failed)
            {
                failed = true;
                line($"{name}: source failed — {error.Message}; reconnecting");
            }
        }

        public void Discarded(int records, string condition) => line($"{name}: {records} records sent to the failure destination ({condition})");

        private bool denied;

        /// <summary>Local mode with --auth: the pollers send no credentials, so the gateway refuses them (said once; the batch is held).</summary>
        public void InvokeDenied(string message)
        {
            if (!denied)
            {
                denied = true;
                line($"{name}: INVOKE DENIED — {message}; the batch is held and retried (local pollers send no credentials: run without --auth)");
            }
        }
    }
}
