using FnOperator.Api;

namespace FnOperator.EventSources;

/// <summary>An EventSourceMapping's spec as the pollers use it (defaults applied, filters compiled).</summary>
public sealed record PollerSettings
{
    public const int DefaultMaximumConcurrency = 2;

    /// <summary>The Invoke API's function name: <c>namespace/name</c>.</summary>
    public required string FunctionName { get; init; }

    public string? Qualifier { get; init; }

    public string Namespace { get; init; } = "default";

    public int BatchSize { get; init; } = 10;

    public TimeSpan BatchingWindow { get; init; }

    public RecordFilter Filter { get; init; } = RecordFilter.None;

    public bool ReportBatchItemFailures { get; init; }

    public int MaximumRetryAttempts { get; init; } = -1;

    public int MaximumRecordAgeInSeconds { get; init; } = -1;

    public bool BisectBatchOnFunctionError { get; init; }

    public int MaximumConcurrency { get; init; } = DefaultMaximumConcurrency;

    /// <summary>Streams: concurrent batches per stream (Lambda's ParallelizationFactor, 1-10), records spread by partition key.</summary>
    public int ParallelizationFactor { get; init; } = 1;

    public Destination? OnFailure { get; init; }

    public string FunctionArn => EventShapes.FunctionArn(Namespace, FunctionName[(FunctionName.IndexOf('/') + 1)..]);

    /// <exception cref="FilterPatternException">A filter pattern is invalid.</exception>
    public static PollerSettings From(EventSourceMapping mapping)
    {
        var spec = mapping.Spec;
        var ns = mapping.Metadata.NamespaceProperty ?? "default";
        var colon = spec.FunctionName.IndexOf(':');
        return new PollerSettings
        {
            Namespace = ns,
            FunctionName = $"{ns}/{(colon < 0 ? spec.FunctionName : spec.FunctionName[..colon])}",
            Qualifier = colon < 0 ? null : spec.FunctionName[(colon + 1)..],
            BatchSize = spec.BatchSize,
            BatchingWindow = TimeSpan.FromSeconds(spec.MaximumBatchingWindowInSeconds),
            Filter = new RecordFilter(spec.FilterCriteria?.Filters?.Select(f => f.Pattern), stream: spec.Source.Stream is not null),
            // Lambda's Amazon MQ mappings have no ReportBatchItemFailures (their events carry no item ids): ignored for rabbitmq.
            ReportBatchItemFailures = spec.FunctionResponseTypes?.Contains(EventSourceMappingSpec.ReportBatchItemFailures) == true && spec.Source.Queue?.Type != "rabbitmq",
            MaximumRetryAttempts = spec.MaximumRetryAttempts,
            MaximumRecordAgeInSeconds = spec.MaximumRecordAgeInSeconds,
            BisectBatchOnFunctionError = spec.BisectBatchOnFunctionError == true,
            MaximumConcurrency = spec.ScalingConfig?.MaximumConcurrency ?? DefaultMaximumConcurrency,
            ParallelizationFactor = Math.Clamp(spec.ParallelizationFactor ?? 1, 1, 10),
            OnFailure = spec.DestinationConfig?.OnFailure,
        };
    }
}
