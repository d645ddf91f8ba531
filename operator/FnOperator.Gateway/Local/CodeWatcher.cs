using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Watches one function's code folder and, once edits have settled (debounced: quiet for <see cref="Quiet"/>, at most
/// <see cref="MaxDelay"/> after the first change), asks its pool to replace the running instances so the next invocation
/// runs the new code. Files a runtime writes itself (__pycache__, *.pyc), hidden files and editor backups are ignored.
/// </summary>
public sealed partial class CodeWatcher(LocalFunction function, FunctionPool pool, ProcessOutput output, TimeProvider time, ILogger<CodeWatcher> logger)
{
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(3);
    private readonly Channel<string> changed = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private string lastChange = "";
    private long lastChangeTicks;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var watcher = TryWatch();
        if (watcher is null)
        {
            return;
        }

        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await changed.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                await SettleAsync(cancellationToken).ConfigureAwait(false);
                var restarting = pool.RequestRestart();
                var file = System.IO.Path.GetRelativePath(function.CodeDirectory, Volatile.Read(ref lastChange));
                output.Prefixed(function.Name, restarting == 0
                    ? $"code changed ({file}); the next invocation starts with the new code"
                    : $"code changed ({file}); restarting {restarting} warm instance{(restarting == 1 ? "" : "s")}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Waits until no change arrived for <see cref="Quiet"/>, or <see cref="MaxDelay"/> passed: a bounded debounce.</summary>
    private async Task SettleAsync(CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + MaxDelay;
        while (time.GetUtcNow() < deadline && time.GetUtcNow().UtcTicks - Volatile.Read(ref lastChangeTicks) < Quiet.Ticks)
        {
            await Task.Delay(Quiet, time, cancellationToken).ConfigureAwait(false);
        }

        changed.Reader.TryRead(out _); // a change signalled during the wait is covered by this restart
    }

    private FileSystemWatcher? TryWatch()
    {
        try
        {
            var watcher = new FileSystemWatcher(function.CodeDirectory)
            {
                IncludeSubdirectories = true,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            watcher.Changed += (_, e) => OnChange(e.FullPath);
            watcher.Created += (_, e) => OnChange(e.FullPath);
            watcher.Deleted += (_, e) => OnChange(e.FullPath);
            watcher.Renamed += (_, e) => OnChange(e.FullPath);
            watcher.Error += (_, e) => LogWatchFailed(logger, e.GetException(), function.Name, function.CodeDirectory);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // E.g. the inotify watch limit: the function still serves, code edits need a restart.
            LogWatchFailed(logger, e, function.Name, function.CodeDirectory);
            return null;
        }
    }

    private void OnChange(string path)
    {
        if (Ignored(System.IO.Path.GetRelativePath(function.CodeDirectory, path)))
        {
            return;
        }

        Volatile.Write(ref lastChange, path);
        Volatile.Write(ref lastChangeTicks, time.GetUtcNow().UtcTicks);
        changed.Writer.TryWrite(path); // dropped when a change is already pending
    }

    /// <summary>Files the runtime itself writes, hidden files and editor backups do not restart the function.</summary>
    public static bool Ignored(string relativePath) =>
        relativePath.Split(System.IO.Path.DirectorySeparatorChar).Any(part => part.StartsWith('.') || part is "__pycache__")
        || relativePath.EndsWith(".pyc", StringComparison.Ordinal)
        || relativePath.EndsWith('~')
        || relativePath.EndsWith(".swp", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to watch code folder of function {Function}, path={Path}; code edits need a restart of local mode")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string function, string path);
}
