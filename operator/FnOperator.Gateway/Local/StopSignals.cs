using System.Runtime.InteropServices;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as local mode reads them: the first asks for a graceful stop (instances finish their
/// in-flight invocations), the second for an immediate one (instances are killed). Handling the signals here keeps the
/// runtime from exiting before the pools have stopped.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource graceful;
    private readonly CancellationTokenSource now = new();
    private readonly PosixSignalRegistration sigint;
    private readonly PosixSignalRegistration sigterm;
    private readonly Action onSecond;
    private int received;

    public StopSignals(CancellationToken outer, Action onSecond)
    {
        graceful = CancellationTokenSource.CreateLinkedTokenSource(outer);
        this.onSecond = onSecond;
        sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first signal (or the caller's token).</summary>
    public CancellationToken Graceful => graceful.Token;

    /// <summary>Cancelled by the second signal.</summary>
    public CancellationToken Now => now.Token;

    public void Dispose()
    {
        sigint.Dispose();
        sigterm.Dispose();
        graceful.Dispose();
        now.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (Interlocked.Increment(ref received) == 1)
        {
            Cancel(graceful);
            return;
        }

        if (!now.IsCancellationRequested)
        {
            onSecond();
            Cancel(now);
        }
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped.
        }
    }
}
