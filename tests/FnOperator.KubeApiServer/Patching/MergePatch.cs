using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>
/// JSON merge patch (RFC 7386), and strategic merge patch approximated on top of it: lists whose items carry a known
/// merge key (name, type, containerPort, mountPath, uid...) are merged item by item, items with "$patch": "delete"
/// are removed, primitive lists named finalizers are merged as sets, other lists are replaced; other directives
/// ($setElementOrder, $retainKeys, $deleteFromPrimitiveList) are dropped.
/// </summary>
public static class MergePatch
{
    private static readonly string[] MergeKeys = ["name", "type", "containerPort", "mountPath", "devicePath", "uid", "ip", "topologyKey", "port"];

    public static JsonNode? Apply(JsonNode? target, JsonNode? patch, bool strategic = false)
    {
        if (patch is not JsonObject patchObj)
        {
            return patch?.DeepClone();
        }

        var result = target as JsonObject is { } t ? (JsonObject)t.DeepClone() : [];
        foreach (var (key, value) in patchObj)
        {
            if (strategic && key.StartsWith('$'))
            {
                continue;
            }

            if (value is null)
            {
                result.Remove(key);
            }
            else if (strategic && value is JsonArray patchList && result[key] is JsonArray targetList)
            {
                result[key] = MergeList(key, targetList, patchList);
            }
            else
            {
                result[key] = Apply(result[key], value, strategic);
            }
        }

        return result;
    }

    private static JsonArray MergeList(string field, JsonArray target, JsonArray patch)
    {
        if (field == "finalizers" && patch.All(i => i is JsonValue))
        {
            return new JsonArray([.. target.Concat(patch).Select(i => (string?)i).Distinct().Select(i => JsonValue.Create(i))]);
        }

        var key = MergeKeys.FirstOrDefault(k => patch.Count > 0 && patch.All(i => i is JsonObject o && o.ContainsKey(k)) && target.All(i => i is JsonObject o && o.ContainsKey(k)));
        if (key is null)
        {
            return new JsonArray([.. patch.Select(i => Strip(i?.DeepClone()))]);
        }

        var merged = target.Select(i => i!.DeepClone()).ToList();
        foreach (var item in patch.OfType<JsonObject>())
        {
            var index = merged.FindIndex(m => JsonNode.DeepEquals(m[key], item[key]));
            if ((string?)item["$patch"] == "delete")
            {
                if (index >= 0)
                {
                    merged.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                merged[index] = Apply(merged[index], item, strategic: true)!;
            }
            else
            {
                merged.Add(Strip(item.DeepClone())!);
            }
        }

        return new JsonArray([.. merged]);
    }

    private static JsonNode? Strip(JsonNode? node) => node is JsonObject obj ? Apply(new JsonObject(), obj, strategic: true) : node;
}
