using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Operator.Resources;

/// <summary>
/// One version of a function as the builders see it: which function (name, namespace, uid for the owner reference),
/// which version ($LATEST or a published number), and the spec that version runs. $LATEST runs the Function's spec
/// as it is now; a published version runs its immutable snapshot. Builders read it and never change it.
/// </summary>
public sealed record FunctionVersion
{
    public FunctionVersion(string functionName, string ns, string? uid, string version, FunctionSpec spec)
    {
        if (!FunctionVersions.IsValid(version))
        {
            throw new ArgumentException($"Version must be {FunctionVersions.Latest} or a published number, not '{version}'.", nameof(version));
        }

        FunctionName = functionName;
        Namespace = ns;
        Uid = uid;
        Version = version;
        Spec = spec;
    }

    public string FunctionName { get; }

    public string Namespace { get; }

    public string? Uid { get; }

    /// <summary>"$LATEST" or a published number such as "3".</summary>
    public string Version { get; }

    public FunctionSpec Spec { get; }

    public bool IsLatest => Version == FunctionVersions.Latest;

    /// <summary>$LATEST of a Function: its current spec.</summary>
    public static FunctionVersion Latest(Function fn) =>
        new(fn.Metadata.Name, fn.Metadata.NamespaceProperty ?? "default", fn.Metadata.Uid, FunctionVersions.Latest, fn.Spec);

    /// <summary>A published version of a Function, running <paramref name="snapshot"/>.</summary>
    public static FunctionVersion Published(Function fn, int number, FunctionSpec snapshot) =>
        new(fn.Metadata.Name, fn.Metadata.NamespaceProperty ?? "default", fn.Metadata.Uid,
            number.ToString(System.Globalization.CultureInfo.InvariantCulture), snapshot);
}
