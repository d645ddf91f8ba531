namespace FnOperator.Gateway.Local;

/// <summary>One instance of a function in local mode: a runtime-shim process (<see cref="ShimInstance"/>) or a shim hosted in the gateway's process (<see cref="InProcessInstance"/>).</summary>
public interface IFunctionInstance : IAsyncDisposable
{
    /// <summary>How the instance is named in local mode's output, e.g. "pid 4242" or "in-process 3".</summary>
    string Name { get; }

    DateTimeOffset StartedAt { get; }

    /// <summary>Completes with an exit code when the instance has ended (stopped, or on its own).</summary>
    Task<int> Exited { get; }

    /// <summary>Drains the in-flight invocations and stops; ended by force after <paramref name="grace"/> or when <paramref name="cancellationToken"/> fires.</summary>
    Task StopAsync(TimeSpan grace, CancellationToken cancellationToken);
}

/// <summary>Starts a function's instances; a failure to start throws <see cref="InvalidOperationException"/> or <see cref="System.ComponentModel.Win32Exception"/>.</summary>
public interface IInstanceLauncher
{
    IFunctionInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now);
}

/// <summary>How local mode runs function instances (<c>--instances</c>).</summary>
public enum InstanceMode
{
    /// <summary>A runtime-shim process per instance (<c>--instances process</c>; the default before issue #19's seventh pass).</summary>
    Process,

    /// <summary>The runtime-shim of each instance hosted in the gateway's own process (the default).</summary>
    InProcess,
}

/// <summary>A runtime-shim process per instance.</summary>
public sealed class ProcessLauncher : IInstanceLauncher
{
    public static ProcessLauncher Instance { get; } = new();

    public IFunctionInstance Start(ShimLaunch launch, ProcessOutput output, DateTimeOffset now) => ShimInstance.Start(launch, output, now);
}
