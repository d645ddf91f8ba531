using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Operator.Resources;

/// <summary>
/// One version of a function as the builders see it: which function (name, namespace, uid for the owner reference),
/// which version ($LATEST or a published number), and the spec that version runs. $LATEST runs the Function's spec
/// as it is now; a published version runs its immutable snapshot. Builders read it and never change it.
/// </summary>
/// <param name="Version">"$LATEST" or a published number such as "3".</param>
public sealed record FunctionVersion(string FunctionName, string Namespace, string? Uid, string Version, FunctionSpec Spec)
{
    public string Version { get; } = FunctionVersions.IsValid(Version)
        ? Version
        : throw new ArgumentException($"Version must be {FunctionVersions.Latest} or a published number, not '{Version}'.", nameof(Version));

    public bool IsLatest => Version == FunctionVersions.Latest;

    /// <summary>$LATEST of a Function: its current spec.</summary>
    public static FunctionVersion Latest(Function fn) =>
        new(fn.Metadata.Name, fn.Metadata.NamespaceProperty ?? "default", fn.Metadata.Uid, FunctionVersions.Latest, fn.Spec);

    /// <summary>A published version of a Function, running <paramref name="snapshot"/>.</summary>
    public static FunctionVersion Published(Function fn, int number, FunctionSpec snapshot) =>
        new(fn.Metadata.Name, fn.Metadata.NamespaceProperty ?? "default", fn.Metadata.Uid,
            number.ToString(System.Globalization.CultureInfo.InvariantCulture), snapshot);
}
