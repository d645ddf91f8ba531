using System.Globalization;

namespace FnOperator.Contracts;

/// <summary>Function version qualifiers: <c>$LATEST</c> (the spec as it is now) or a published number ("1", "2", …).</summary>
public static class FunctionVersions
{
    public const string Latest = "$LATEST";

    /// <summary>True for $LATEST and for a published number (a positive integer without leading zeros).</summary>
    public static bool IsValid(string? version) => version == Latest || IsPublished(version);

    public static bool IsPublished(string? version) =>
        !string.IsNullOrEmpty(version) && version[0] is >= '1' and <= '9' && version.All(char.IsAsciiDigit) &&
        int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out _);
}

/// <summary>The Lambda Invoke API's path, as the gateway serves it and as status.invokeUrl and clients write it.</summary>
public static class InvokeApi
{
    public const string FunctionsPath = "/2015-03-31/functions";

    /// <summary>Route template of an invoke by name (<c>name</c>, <c>namespace/name</c> escaped, or an ARN).</summary>
    public const string InvokeRoute = FunctionsPath + "/{functionName}/invocations";

    /// <summary>Route template of an invoke by unescaped <c>namespace/name</c>.</summary>
    public const string NamespacedInvokeRoute = FunctionsPath + "/{ns}/{functionName}/invocations";

    /// <summary>The path that invokes <paramref name="functionName"/> (escaped as one path segment).</summary>
    public static string InvokePath(string functionName) => $"{FunctionsPath}/{Uri.EscapeDataString(functionName)}/invocations";
}
