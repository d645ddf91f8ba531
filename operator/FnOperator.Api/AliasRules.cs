using System.Globalization;

namespace FnOperator.Api;

/// <summary>Lambda's rules for an alias's routing, shared by the Alias reconciler and the gateway's create/update-alias.</summary>
public static class AliasRules
{
    public const string Latest = "$LATEST";

    /// <summary>Null when the routing is valid, else Lambda's message.</summary>
    public static string? RoutingError(string functionVersion, IReadOnlyDictionary<string, double>? weights)
    {
        if (weights is null || weights.Count == 0)
        {
            return null;
        }

        if (weights.Count > 1)
        {
            return "Number of items in AdditionalVersionWeights cannot be greater than 1";
        }

        var (version, weight) = weights.First();
        if (functionVersion == Latest)
        {
            return "$LATEST is not supported for an alias pointing to more than 1 version";
        }

        if (version.Length == 0 || version[0] is < '1' or > '9' || !version.All(char.IsAsciiDigit))
        {
            return $"Invalid function version {version}: the additional version must be a published version number.";
        }

        if (version == functionVersion)
        {
            return $"Invalid function version {version}. Function version {version} is already included in routing configuration.";
        }

        return weight is < 0 or >= 1 || double.IsNaN(weight)
            ? $"Invalid weight {weight.ToString(CultureInfo.InvariantCulture)} for version {version}: a weight is at least 0.0 and less than 1.0."
            : null;
    }

    /// <summary>Lambda's alias name rule: 1-128 letters, digits, - and _, not all digits.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') && !name.All(char.IsAsciiDigit);
}
