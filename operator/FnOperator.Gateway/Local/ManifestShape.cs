using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace FnOperator.Gateway.Local;

/// <summary>
/// Checks a manifest's JSON against the shape of the C# model before it is deserialized, so that every unknown field
/// (with a "did you mean" for a near name) and every wrong type (what was expected, what was given) of a document is
/// reported at once, in the user's words rather than a serializer's exception message.
/// </summary>
internal static class ManifestShape
{
    public static List<(string Field, string Message)> Check(JsonNode? node, Type type, JsonSerializerOptions options)
    {
        var problems = new List<(string, string)>();
        Walk(node, type, "", options, problems);
        return problems;
    }

    private static void Walk(JsonNode? node, Type type, string path, JsonSerializerOptions options, List<(string, string)> problems)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (node is null)
        {
            if (type.IsValueType && underlying is null)
            {
                problems.Add((path, $"must be {Expected(type, options)}, got an empty value (remove the line to use the default)"));
            }

            return;
        }

        type = underlying ?? type;
        var info = options.GetTypeInfo(type);
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when node is JsonObject obj:
                WalkObject(obj, info, path, options, problems);
                break;
            case JsonTypeInfoKind.Enumerable when node is JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], info.ElementType!, $"{path}[{i}]", options, problems);
                }

                break;
            case JsonTypeInfoKind.Dictionary when node is JsonObject map:
                foreach (var (key, value) in map)
                {
                    Walk(value, info.ElementType!, Join(path, key), options, problems);
                }

                break;
            case JsonTypeInfoKind.Object or JsonTypeInfoKind.Enumerable or JsonTypeInfoKind.Dictionary:
                problems.Add((path, $"must be {Expected(type, options)}, got {Given(node)}"));
                break;
            default:
                var message = CheckScalar(node, type);
                if (message is not null)
                {
                    problems.Add((path, message));
                }

                break;
        }
    }

    private static void WalkObject(JsonObject obj, JsonTypeInfo info, string path, JsonSerializerOptions options, List<(string, string)> problems)
    {
        var known = info.Properties.ToDictionary(p => p.Name, p => p.PropertyType, StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            if (known.TryGetValue(key, out var propertyType))
            {
                Walk(value, propertyType, Join(path, key), options, problems);
                continue;
            }

            var suggestion = FieldSuggestion.Nearest(key, known.Keys);
            problems.Add((Join(path, key), suggestion is null ? $"unknown field '{key}'" : $"unknown field '{key}' (did you mean '{suggestion}'?)"));
        }
    }

    /// <summary>Null when the scalar fits the type; otherwise what was expected and what was given.</summary>
    private static string? CheckScalar(JsonNode node, Type type)
    {
        var kind = node.GetValueKind();
        if (IsInteger(type))
        {
            if (kind != JsonValueKind.Number)
            {
                return $"must be an integer, got {Given(node)}";
            }

            if (node is not JsonValue value || !value.TryGetValue<long>(out var whole))
            {
                return $"must be an integer, got {Given(node)}";
            }

            var (min, max) = IntegerRange(type);
            return whole < min || whole > max ? $"must be an integer between {min} and {max}, got {whole}" : null;
        }

        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return kind == JsonValueKind.Number ? null : $"must be a number, got {Given(node)}";
        }

        if (type == typeof(bool))
        {
            return kind is JsonValueKind.True or JsonValueKind.False ? null : $"must be true or false, got {Given(node)}";
        }

        if (type == typeof(string) || type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            if (kind == JsonValueKind.String)
            {
                return null;
            }

            var quote = kind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
                ? $" (quote it: \"{node.ToJsonString()}\")"
                : "";
            return $"must be a string, got {Given(node)}{quote}";
        }

        return null; // a type with its own converter (quantities, int-or-string): left to the serializer
    }

    private static string Expected(Type type, JsonSerializerOptions options)
    {
        if (IsInteger(type))
        {
            return "an integer";
        }

        return options.GetTypeInfo(type).Kind switch
        {
            JsonTypeInfoKind.Object => "a mapping of fields",
            JsonTypeInfoKind.Enumerable => "a list",
            JsonTypeInfoKind.Dictionary => "a mapping of names to values",
            _ => type == typeof(bool) ? "true or false" : type == typeof(string) ? "a string" : "a number",
        };
    }

    private static string Given(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => $"the string {node.ToJsonString()}",
        JsonValueKind.Number => $"the number {node.ToJsonString()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {node.ToJsonString()}",
        JsonValueKind.Object => "a mapping",
        JsonValueKind.Array => "a list",
        _ => "an empty value",
    };

    private static bool IsInteger(Type type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte)
        || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(sbyte);

    private static (long Min, long Max) IntegerRange(Type type) => Type.GetTypeCode(type) switch
    {
        TypeCode.Int32 => (int.MinValue, int.MaxValue),
        TypeCode.Int16 => (short.MinValue, short.MaxValue),
        TypeCode.Byte => (byte.MinValue, byte.MaxValue),
        TypeCode.SByte => (sbyte.MinValue, sbyte.MaxValue),
        TypeCode.UInt16 => (ushort.MinValue, ushort.MaxValue),
        TypeCode.UInt32 => (uint.MinValue, uint.MaxValue),
        TypeCode.UInt64 => (0, long.MaxValue),
        _ => (long.MinValue, long.MaxValue),
    };

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}

/// <summary>The known field a mistyped one most likely meant: same letters in another case, a prefix, or a few edits.</summary>
internal static class FieldSuggestion
{
    public static string? Nearest(string given, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestScore = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var score = Score(given, candidate);
            if (score < bestScore)
            {
                (best, bestScore) = (candidate, score);
            }
        }

        return best;
    }

    /// <summary>Lower is nearer; <see cref="int.MaxValue"/> when the names are not alike.</summary>
    private static int Score(string given, string candidate)
    {
        if (string.Equals(given, candidate, StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        var a = given.ToLowerInvariant();
        var b = candidate.ToLowerInvariant();
        var distance = Distance(a, b);
        if (distance <= Math.Max(1, Math.Min(a.Length, b.Length) / 3))
        {
            return distance;
        }

        // "timeout" → "timeoutSeconds", "env" → "environment", "memorySize" → "memoryMiB": a shared stem of 3+ letters
        // covering most of the shorter name.
        var common = 0;
        while (common < a.Length && common < b.Length && a[common] == b[common])
        {
            common++;
        }

        return common >= 3 && common * 2 >= Math.Min(a.Length, b.Length) ? 100 - common : int.MaxValue;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
