using System.Globalization;
using FnOperator.Contracts;

namespace FnOperator.Api;

/// <summary>
/// The rule for spec.concurrency.perInstance (docs/concurrency.md): more than one invocation at once in one runtime process
/// only for node runtimes (nodejs*: async handlers interleave, as in Lambda Managed Instances), at most
/// <see cref="LambdaVariables.MaxConcurrencyLimit"/>. Off (1) by default. The operator's and local mode's validators both ask it.
/// </summary>
public static class FunctionPerInstance
{
    /// <summary>Why the spec's perInstance cannot run, or null.</summary>
    public static string? Problem(FunctionSpec spec)
    {
        var perInstance = spec.Concurrency?.PerInstance ?? 1;
        if (perInstance <= 1)
        {
            return perInstance < 1 ? "must be at least 1" : null;
        }

        if (LambdaRuntimes.FamilyOf(spec.Runtime) != RuntimeFamily.NodeJs)
        {
            var runtime = string.IsNullOrEmpty(spec.Runtime) ? "no runtime (an image function must name its nodejs runtime)" : $"runtime '{spec.Runtime}'";
            return $"{perInstance} invocations per instance need a nodejs runtime, whose invocations can run at once in one process; {runtime} runs one at a time (set 1 or leave it out)";
        }

        return perInstance > LambdaVariables.MaxConcurrencyLimit
            ? string.Create(CultureInfo.InvariantCulture, $"must be at most {LambdaVariables.MaxConcurrencyLimit} ({perInstance} > {LambdaVariables.MaxConcurrencyLimit})")
            : null;
    }
}
