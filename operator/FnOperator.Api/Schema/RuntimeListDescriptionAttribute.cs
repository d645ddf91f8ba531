using System.ComponentModel;
using FnOperator.Contracts;

namespace FnOperator.Api.Schema;

/// <summary>
/// A [Description] whose middle is the shared runtime list (<see cref="LambdaRuntimes.Ids"/>), so the CRD's
/// description of spec.runtime is generated from the same list as the operator's image map and local mode.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false)]
public sealed class RuntimeListDescriptionAttribute(string before, string after)
    : DescriptionAttribute(before + string.Join(", ", LambdaRuntimes.Ids) + after);
