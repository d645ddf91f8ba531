using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Watches the folder of each path layer. Once edits settle (quiet for <see cref="CodeWatcher.Quiet"/>, at most
/// <see cref="CodeWatcher.MaxDelay"/>), the content is published as a new version when it changed; the functions that
/// follow the layer's latest version get their merged /opt rebuilt and their warm instances restarted. Functions
/// pinned to a version keep it.
/// </summary>
public sealed partial class LayersWatcher(
    Layers layers, IReadOnlyDictionary<LocalFunction, FunctionPool> pools, ProcessOutput output, TimeProvider time, ILogger<LayersWatcher> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var manifests = layers.Store.Manifests.Where(m => m.Directory is not null).ToList();
        if (manifests.Count == 0)
        {
            return;
        }

        var changed = Channel.CreateBounded<LocalLayerManifest>(new BoundedChannelOptions(manifests.Count) { FullMode = BoundedChannelFullMode.DropWrite });
        var lastChange = 0L;
        var watchers = new List<FileSystemWatcher>();
        try
        {
            foreach (var manifest in manifests)
            {
                if (Watch(manifest, () =>
                {
                    Volatile.Write(ref lastChange, time.GetUtcNow().UtcTicks);
                    changed.Writer.TryWrite(manifest);
                }) is { } watcher)
                {
                    watchers.Add(watcher);
                }
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                var first = await changed.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var deadline = time.GetUtcNow() + CodeWatcher.MaxDelay;
                while (time.GetUtcNow() < deadline && time.GetUtcNow().UtcTicks - Volatile.Read(ref lastChange) < CodeWatcher.Quiet.Ticks)
                {
                    await Task.Delay(CodeWatcher.Quiet, time, cancellationToken).ConfigureAwait(false);
                }

                var pending = new HashSet<LocalLayerManifest> { first };
                while (changed.Reader.TryRead(out var more))
                {
                    pending.Add(more);
                }

                foreach (var manifest in pending)
                {
                    await RepublishAsync(manifest, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            watchers.ForEach(w => w.Dispose());
        }
    }

    private async Task RepublishAsync(LocalLayerManifest manifest, CancellationToken cancellationToken)
    {
        LocalLayerVersion? version;
        try
        {
            version = await layers.Store.PublishAsync(manifest, cancellationToken).ConfigureAwait(false);
        }
        catch (LayerContentException e)
        {
            output.Line($"layer {manifest.Name}: {e.Message}; functions keep their versions");
            return;
        }

        if (version is null)
        {
            return;
        }

        output.Line($"layer {manifest.Name}: published version {version.Number} (sha256 {version.Sha256[..12]}, {version.Size} bytes)");
        foreach (var bound in layers.Bound.Where(b => b.Follows(manifest.Namespace, manifest.Name)).ToList())
        {
            var fn = bound.Function;
            if (layers.Rebind(fn) is { } problem)
            {
                output.Prefixed(fn.Name, $"layer {manifest.Name}:{version.Number} not used: {problem}");
                continue;
            }

            var restarting = pools.TryGetValue(fn, out var pool) ? pool.RequestRestart() : 0;
            output.Prefixed(fn.Name, restarting == 0
                ? $"layer {manifest.Name}:{version.Number}; the next invocation starts with it"
                : $"layer {manifest.Name}:{version.Number}; restarting {restarting} warm instance{(restarting == 1 ? "" : "s")}");
        }

        var inUse = layers.Bound.SelectMany(b => b.Resolved)
            .Where(r => r.Reference.Name == manifest.Name).Select(r => r.Version.Number).ToHashSet();
        layers.Store.Prune(manifest.Namespace, manifest.Name, inUse);
    }

    private FileSystemWatcher? Watch(LocalLayerManifest manifest, Action onChange)
    {
        try
        {
            var watcher = new FileSystemWatcher(manifest.Directory!)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            FileSystemEventHandler handler = (_, e) =>
            {
                if (!CodeWatcher.Ignored(Path.GetRelativePath(manifest.Directory!, e.FullPath)))
                {
                    onChange();
                }
            };
            watcher.Changed += handler;
            watcher.Created += handler;
            watcher.Deleted += handler;
            watcher.Renamed += (s, e) => handler(s, e);
            watcher.Error += (_, e) => LogWatchFailed(logger, e.GetException(), manifest.Name, manifest.Directory!);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            LogWatchFailed(logger, e, manifest.Name, manifest.Directory!);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to watch folder of layer {Layer}, path={Path}; layer edits need a restart of local mode")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string layer, string path);
}
