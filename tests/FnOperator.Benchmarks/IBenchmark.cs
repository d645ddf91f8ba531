namespace FnOperator.Benchmarks;

/// <summary>One `make bench` scenario. Name is what `make bench BENCH=...` matches (case-insensitive prefix).</summary>
public interface IBenchmark
{
    string Name { get; }

    string Description { get; }

    /// <summary>Runs the scenario and returns report lines (metric: value, and the target it is held to).</summary>
    Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken);
}
