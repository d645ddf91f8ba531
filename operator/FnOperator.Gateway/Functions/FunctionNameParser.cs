namespace FnOperator.Gateway.Functions;

/// <summary>
/// Parses the FunctionName forms the Invoke API accepts:
/// <c>name</c>, <c>name:qualifier</c>, <c>namespace/name</c>, <c>namespace.name</c> (namespace = text before the first
/// dot; an exact name in the default namespace wins), and
/// <c>arn:aws:lambda:region:account:function:&lt;any of the above without qualifier&gt;[:qualifier]</c>.
/// </summary>
public static class FunctionNameParser
{
    /// <summary>The keys the name may denote, in order of preference, and the qualifier embedded in it.</summary>
    public sealed record Parsed(IReadOnlyList<FunctionKey> Candidates, string? Qualifier);

    public static bool TryParse(string? functionName, out Parsed parsed)
    {
        parsed = null!;
        if (string.IsNullOrWhiteSpace(functionName) || functionName.Length > 256)
        {
            return false;
        }

        string name;
        string? qualifier = null;
        if (functionName.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = functionName.Split(':');
            if (parts.Length is < 7 or > 8 || parts[2] != "lambda" || parts[5] != "function")
            {
                return false;
            }

            name = parts[6];
            qualifier = parts.Length == 8 ? parts[7] : null;
        }
        else
        {
            var colon = functionName.IndexOf(':', StringComparison.Ordinal);
            name = colon < 0 ? functionName : functionName[..colon];
            qualifier = colon < 0 ? null : functionName[(colon + 1)..];
            if (qualifier is not null && (qualifier.Length == 0 || qualifier.Contains(':', StringComparison.Ordinal)))
            {
                return false;
            }
        }

        if (qualifier is { Length: 0 } || name.Length == 0)
        {
            return false;
        }

        var candidates = new List<FunctionKey>();
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var ns = name[..slash];
            var fn = name[(slash + 1)..];
            if (ns.Length == 0 || fn.Length == 0 || fn.Contains('/', StringComparison.Ordinal))
            {
                return false;
            }

            candidates.Add(new FunctionKey(ns, fn));
        }
        else
        {
            candidates.Add(new FunctionKey(FunctionKey.DefaultNamespace, name));
            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && dot < name.Length - 1)
            {
                candidates.Add(new FunctionKey(name[..dot], name[(dot + 1)..]));
            }
        }

        parsed = new Parsed(candidates, qualifier);
        return true;
    }
}
