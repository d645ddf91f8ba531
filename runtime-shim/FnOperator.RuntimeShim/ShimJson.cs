using System.Text.Json;
using System.Text.Json.Serialization;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>
/// The shim's JSON, source-generated (no reflection, so the Native AOT build serialises the same shapes): the pull
/// protocol's <see cref="Invocation"/> and <see cref="InvocationResult"/> with the gateway's web defaults (camelCase),
/// and the error documents (string maps) the shim writes itself.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Invocation))]
[JsonSerializable(typeof(InvocationResult))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ShimJson : JsonSerializerContext
{
    /// <summary>A JSON object of string fields, e.g. {"errorType":…,"errorMessage":…}.</summary>
    public static byte[] Object(Dictionary<string, string> fields) => JsonSerializer.SerializeToUtf8Bytes(fields, Default.DictionaryStringString);
}
