using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.EventSources;

/// <summary>Delivers discarded records to a mapping's destinationConfig.onFailure: a queue on the source's server, or a function invoked asynchronously.</summary>
public sealed class FailureSink(IRecordSource source, IFunctionInvoker invoker, Destination? destination, string ns)
{
    public bool Configured => destination is not null;

    /// <returns>False when the destination refused the record (the caller keeps it and retries).</returns>
    public async Task<bool> SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (destination?.Queue is { } queue)
        {
            await source.PublishAsync(queue, payload, cancellationToken).ConfigureAwait(false);
            return true;
        }

        if (destination?.Function is { } function)
        {
            var name = function.Contains('/', StringComparison.Ordinal) ? function : $"{ns}/{function}";
            var outcome = await invoker.InvokeAsync(name, null, payload, asynchronous: true, cancellationToken).ConfigureAwait(false);
            return outcome.StatusCode == 202;
        }

        return true; // no destination: the records are dropped, as Lambda does
    }
}

/// <summary>What a poller tells its owner (status, events, logs) after each batch and on source trouble.</summary>
public interface IPollerObserver
{
    void Connected(SourceIdentity source);

    /// <param name="result">Lambda's lastProcessingResult: <c>OK</c> or <c>PROBLEM: …</c>.</param>
    void Processed(string result, int records, DateTimeOffset at);

    void SourceFailed(SourceException error);

    void Discarded(int records, string condition);

    /// <summary>The gateway refused the poller's credentials; the batch is held and retried (cleared by the next <see cref="Processed"/>).</summary>
    void InvokeDenied(string message)
    {
    }
}

public sealed class NullPollerObserver : IPollerObserver
{
    public static NullPollerObserver Instance { get; } = new();

    public void Connected(SourceIdentity source)
    {
    }

    public void Processed(string result, int records, DateTimeOffset at)
    {
    }

    public void SourceFailed(SourceException error)
    {
    }

    public void Discarded(int records, string condition)
    {
    }
}
