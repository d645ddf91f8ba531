using System.Net;
using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>JSON patch (RFC 6902): add, remove, replace, move, copy, test, with JSON pointers (~0, ~1, "-").</summary>
public static class JsonPatch
{
    /// <summary>Applies the operations to a copy; a malformed patch is 400, a failing operation 422 (as the apiserver).</summary>
    public static JsonNode Apply(JsonNode target, JsonNode? patch)
    {
        if (patch is not JsonArray operations)
        {
            throw ApiException.BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
        }

        var document = new JsonObject { ["root"] = target.DeepClone() };
        foreach (var operation in operations)
        {
            var op = (string?)operation?["op"] ?? throw ApiException.BadRequest("json patch operation without \"op\"");
            ArgumentNullException.ThrowIfNull(operation);
            var path = (string?)operation["path"] ?? throw ApiException.BadRequest($"json patch {op} operation without \"path\"");
            switch (op)
            {
                case "add":
                    Add(document, path, Value(operation));
                    break;
                case "remove":
                    Remove(document, path);
                    break;
                case "replace":
                    Remove(document, path);
                    Add(document, path, Value(operation));
                    break;
                case "move":
                    var moved = Remove(document, From(operation));
                    Add(document, path, moved);
                    break;
                case "copy":
                    Add(document, path, Get(document, From(operation))?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(document, path), operation["value"]))
                    {
                        throw Failed($"testing value {path} failed: test failed");
                    }

                    break;
                default:
                    throw ApiException.BadRequest($"Unexpected kind: {op}");
            }
        }

        return document["root"]!;
    }

    private static JsonNode? Value(JsonNode operation) =>
        operation.AsObject().TryGetPropertyValue("value", out var value) ? value?.DeepClone() : throw ApiException.BadRequest("json patch operation without \"value\"");

    private static string From(JsonNode operation) => (string?)operation["from"] ?? throw ApiException.BadRequest("json patch operation without \"from\"");

    private static ApiException Failed(string message) => new((HttpStatusCode)422, "Invalid", message);

    private static (JsonNode Parent, string Token) Parent(JsonObject document, string path)
    {
        if (path.Length > 0 && path[0] != '/')
        {
            throw ApiException.BadRequest($"invalid JSON pointer \"{path}\"");
        }

        var tokens = ("/root" + path).Split('/')[1..].Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
        JsonNode current = document;
        foreach (var token in tokens[..^1])
        {
            current = Child(current, token) ?? throw Failed($"doc is missing path: \"{path}\": missing value");
        }

        return (current, tokens[^1]);
    }

    private static JsonNode? Child(JsonNode node, string token) => node switch
    {
        JsonObject obj => obj[token],
        JsonArray array when int.TryParse(token, out var i) && i >= 0 && i < array.Count => array[i],
        _ => null,
    };

    private static JsonNode? Get(JsonObject document, string path)
    {
        var (parent, token) = Parent(document, path);
        return Child(parent, token);
    }

    private static void Add(JsonObject document, string path, JsonNode? value)
    {
        var (parent, token) = Parent(document, path);
        switch (parent)
        {
            case JsonObject obj:
                obj[token] = value;
                break;
            case JsonArray array when token == "-":
                array.Add(value);
                break;
            case JsonArray array when int.TryParse(token, out var i) && i >= 0 && i <= array.Count:
                array.Insert(i, value);
                break;
            default:
                throw Failed($"add operation does not apply: doc is missing path: \"{path}\"");
        }
    }

    private static JsonNode? Remove(JsonObject document, string path)
    {
        var (parent, token) = Parent(document, path);
        switch (parent)
        {
            case JsonObject obj when obj.ContainsKey(token):
                var value = obj[token];
                obj.Remove(token);
                return value;
            case JsonArray array when int.TryParse(token, out var i) && i >= 0 && i < array.Count:
                var item = array[i];
                array.RemoveAt(i);
                return item;
            default:
                throw Failed($"remove operation does not apply: doc is missing path: \"{path}\": missing value");
        }
    }
}
