using System.Buffers;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Streaming;

/// <summary>How a streaming caller writes its response (InvokeWithResponseStream's event stream, a URL's HTTP response).</summary>
public interface IStreamingResponse
{
    /// <summary>Writes the response of <paramref name="call"/>; runs while the invocation holds its concurrency slot.</summary>
    Task<IResult> RespondAsync(StreamedInvocation call, HttpContext context);
}

/// <summary>
/// A queued streaming invocation as its caller sees it: the stream starts (the runtime answered in streaming mode) or the
/// result arrives first (a buffered answer, an error, a timeout). After a stream, the result follows: the shim posts it
/// only once the gateway took the whole stream, so a successful stream is always read to its end first.
/// </summary>
public sealed class StreamedInvocation(
    ResolvedFunction function, Invocation invocation, ResponseStream stream, Task<InvocationResult?> result, Func<IResult> notStarted)
{
    public ResolvedFunction Function { get; } = function;

    public Invocation Invocation { get; } = invocation;

    /// <summary>The attempt's result (outcome, error, log tail); null when no worker started it in time or the caller left.</summary>
    public Task<InvocationResult?> Result { get; } = result;

    /// <summary>The error response when no worker started the invocation in time (429).</summary>
    public IResult NotStarted() => notStarted();

    /// <summary>The runtime's content type once it starts streaming; null when the result came first (nothing streamed).</summary>
    public async Task<string?> StartAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAny(stream.Started, Result).WaitAsync(cancellationToken).ConfigureAwait(false);
        return stream.Started.IsCompleted ? await stream.Started.ConfigureAwait(false) : null;
    }

    /// <summary>
    /// Hands each piece of the stream to <paramref name="onChunk"/> as it arrives. True when the stream ended normally;
    /// false when it was cut (timeout, runtime exit, oversize: the result says which) or the result ended it.
    /// </summary>
    public async Task<bool> CopyAsync(Func<ReadOnlySequence<byte>, CancellationToken, Task> onChunk, CancellationToken cancellationToken)
    {
        var reader = stream.Pipe.Reader;
        using var registration = cancellationToken.Register(reader.CancelPendingRead);
        _ = Result.ContinueWith(_ => reader.CancelPendingRead(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (!read.Buffer.IsEmpty)
                {
                    await onChunk(read.Buffer, cancellationToken).ConfigureAwait(false);
                }

                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return true;
                }

                if (read.IsCanceled)
                {
                    cancellationToken.ThrowIfCancellationRequested();

                    // The result arrived with the stream still open: forward what is buffered, then stop.
                    while (reader.TryRead(out var rest))
                    {
                        if (!rest.Buffer.IsEmpty)
                        {
                            await onChunk(rest.Buffer, cancellationToken).ConfigureAwait(false);
                        }

                        reader.AdvanceTo(rest.Buffer.End);
                        if (rest.IsCompleted)
                        {
                            return true;
                        }

                        if (rest.Buffer.IsEmpty)
                        {
                            break;
                        }
                    }

                    return false;
                }
            }
        }
        catch (IOException)
        {
            return false;
        }
    }
}
