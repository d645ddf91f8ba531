using System.Text.Json.Nodes;
using k8s;

namespace FnOperator.Operator.Runtime;

/// <summary>
/// Semantic "is the desired state already there" check: every field the desired object sets has the same value in the
/// actual object; fields the actual object has beyond that (server defaults, status) are ignored. Arrays compare by
/// position and length. Empty desired collections match absent ones.
/// </summary>
public static class JsonSubset
{
    public static bool Contains(object actual, object desired) =>
        IsSubset(JsonNode.Parse(KubernetesJson.Serialize(desired)), JsonNode.Parse(KubernetesJson.Serialize(actual)));

    public static bool IsSubset(JsonNode? desired, JsonNode? actual)
    {
        switch (desired)
        {
            case null:
                return true;
            case JsonObject desiredObject:
                if (actual is not JsonObject actualObject)
                {
                    return desiredObject.Count == 0 && actual is null;
                }

                foreach (var (name, value) in desiredObject)
                {
                    if (!IsSubset(value, actualObject[name]))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray desiredArray:
                if (actual is not JsonArray actualArray)
                {
                    return desiredArray.Count == 0 && actual is null;
                }

                if (desiredArray.Count != actualArray.Count)
                {
                    return false;
                }

                for (var i = 0; i < desiredArray.Count; i++)
                {
                    if (!IsSubset(desiredArray[i], actualArray[i]))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return actual is JsonValue && JsonNode.DeepEquals(desired, actual);
        }
    }
}
