using System.Globalization;

namespace FnOperator.Contracts;

/// <summary>
/// Lambda's layer quotas, enforced by the operator (Layer and Function reconcilers) and by local mode alike, with
/// Lambda's wording and the numbers in the message.
/// </summary>
public static class LayerLimits
{
    /// <summary>Layers one function may list.</summary>
    public const int MaxLayers = 5;

    /// <summary>A layer's zipped archive (Lambda: "Zipped size must be smaller than 52428800 bytes").</summary>
    public const long MaxZippedBytes = 50L * 1024 * 1024;

    /// <summary>A function and all its layers, extracted (Lambda: "Unzipped size must be smaller than 262144000 bytes").</summary>
    public const long MaxUnzippedBytes = 250L * 1024 * 1024;

    public static string TooManyLayers(int count) =>
        string.Create(CultureInfo.InvariantCulture, $"Cannot reference more than {MaxLayers} layers: the function lists {count}.");

    public static string Zipped(string what, long? size) => size is long s
        ? string.Create(CultureInfo.InvariantCulture, $"Zipped size must be smaller than {MaxZippedBytes} bytes: {what} is {s} bytes.")
        : string.Create(CultureInfo.InvariantCulture, $"Zipped size must be smaller than {MaxZippedBytes} bytes: {what} is larger.");

    public static string Unzipped(string what, long size) =>
        string.Create(CultureInfo.InvariantCulture, $"Unzipped size must be smaller than {MaxUnzippedBytes} bytes: {what} is {size} bytes.");

    public static string Incompatible(string layer, string runtime, IEnumerable<string> compatible) =>
        $"Layer {layer} is not compatible with runtime {runtime}; its compatibleRuntimes are {string.Join(", ", compatible)}.";
}
