using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FnOperator.EventSources;

/// <summary>
/// A compiled Lambda/EventBridge filter pattern. Keys name fields (nested objects recurse); a key's array lists
/// alternatives: literals (strings, numbers compared by their JSON text, true/false/null) and operator objects
/// <c>prefix</c>, <c>suffix</c> (each optionally <c>{"equals-ignore-case": …}</c>), <c>equals-ignore-case</c>,
/// <c>anything-but</c> (a value, a list, or <c>{"prefix"|"suffix": …}</c>), <c>numeric</c> (<c>=, &lt;, &lt;=, &gt;, &gt;=</c>,
/// up to two comparisons), <c>exists</c>; <c>"$or": [pattern, …]</c> at any level. Every named field must match; when
/// a field's value is an array, one element matching is enough.
/// </summary>
public sealed class FilterPattern
{
    public const string InvalidMessage = "Invalid filter pattern definition.";

    private readonly ObjectNode root;

    private FilterPattern(ObjectNode root) => this.root = root;

    /// <exception cref="FilterPatternException">The pattern is not valid (Lambda's 400 text).</exception>
    public static FilterPattern Parse(string pattern)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(pattern);
        }
        catch (JsonException e)
        {
            throw new FilterPatternException($"{InvalidMessage} {e.Message}");
        }

        return node is JsonObject obj ? new FilterPattern(CompileObject(obj)) : throw new FilterPatternException($"{InvalidMessage} A pattern is a JSON object.");
    }

    public bool Matches(JsonNode? document) => root.Matches(document);

    private static ObjectNode CompileObject(JsonObject obj)
    {
        var fields = new List<(string, INode)>();
        var alternatives = new List<ObjectNode>();
        foreach (var (key, value) in obj)
        {
            if (key == "$or")
            {
                if (value is not JsonArray { Count: >= 2 } ors || ors.Any(o => o is not JsonObject))
                {
                    throw new FilterPatternException($"{InvalidMessage} $or takes a list of at least two patterns.");
                }

                alternatives.AddRange(ors.Select(o => CompileObject((JsonObject)o!)));
                continue;
            }

            fields.Add((key, value switch
            {
                JsonObject nested => CompileObject(nested),
                JsonArray { Count: > 0 } list => new LeafNode([.. list.Select(CompileMatcher)]),
                _ => throw new FilterPatternException($"{InvalidMessage} The value of \"{key}\" must be an object or a non-empty list."),
            }));
        }

        return new ObjectNode(fields, alternatives);
    }

    private static Matcher CompileMatcher(JsonNode? item)
    {
        if (item is not JsonObject op)
        {
            return Literal(item);
        }

        if (op.Count != 1)
        {
            throw new FilterPatternException($"{InvalidMessage} An operator object has exactly one key.");
        }

        var (name, arg) = op.First();
        return name switch
        {
            "prefix" => Affix(arg, (v, a, c) => v.StartsWith(a, c)),
            "suffix" => Affix(arg, (v, a, c) => v.EndsWith(a, c)),
            "equals-ignore-case" when arg is JsonValue s && s.TryGetValue(out string? text) => v => v is JsonValue x && x.TryGetValue(out string? t) && string.Equals(t, text, StringComparison.OrdinalIgnoreCase),
            "exists" when arg is JsonValue b && b.TryGetValue(out bool exists) => new ExistsMatcher(exists).Match,
            "numeric" when arg is JsonArray range => Numeric(range),
            "anything-but" => AnythingBut(arg),
            _ => throw new FilterPatternException($"{InvalidMessage} Unsupported operator \"{name}\"."),
        };
    }

    private static Matcher Literal(JsonNode? literal)
    {
        if (literal is null)
        {
            return v => v is null || v.GetValueKind() == JsonValueKind.Null;
        }

        var kind = literal.GetValueKind();
        var text = literal.ToJsonString();
        return kind switch
        {
            JsonValueKind.String => v => v is JsonValue s && s.GetValueKind() == JsonValueKind.String && s.GetValue<string>() == literal.GetValue<string>(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v => v is JsonValue x && x.GetValueKind() == kind && x.ToJsonString() == text,
            _ => throw new FilterPatternException($"{InvalidMessage} Lists hold strings, numbers, booleans, null or operators."),
        };
    }

    private static Matcher Affix(JsonNode? arg, Func<string, string, StringComparison, bool> test)
    {
        var (text, comparison) = arg switch
        {
            JsonValue v when v.TryGetValue(out string? s) => (s, StringComparison.Ordinal),
            JsonObject { Count: 1 } o when o["equals-ignore-case"] is JsonValue v && v.TryGetValue(out string? s) => (s, StringComparison.OrdinalIgnoreCase),
            _ => throw new FilterPatternException($"{InvalidMessage} prefix and suffix take a string or {{\"equals-ignore-case\": string}}."),
        };
        return v => v is JsonValue x && x.TryGetValue(out string? s) && test(s, text, comparison);
    }

    private static Matcher AnythingBut(JsonNode? arg)
    {
        if (arg is JsonObject affix)
        {
            var inner = affix.Count == 1 && affix.First().Key is "prefix" or "suffix" ? CompileMatcher(affix.DeepClone()) : throw new FilterPatternException($"{InvalidMessage} anything-but takes a value, a list, prefix or suffix.");
            return v => v is JsonValue && !inner(v);
        }

        var excluded = (arg is JsonArray list ? [.. list] : new[] { arg }).Select(Literal).ToArray();
        return v => v is JsonValue x && x.GetValueKind() != JsonValueKind.Null && !excluded.Any(e => e(v));
    }

    private static Matcher Numeric(JsonArray range)
    {
        if (range.Count is not (2 or 4))
        {
            throw new FilterPatternException($"{InvalidMessage} numeric takes one or two comparisons.");
        }

        var tests = new List<Func<double, bool>>();
        for (var i = 0; i < range.Count; i += 2)
        {
            if (range[i] is not JsonValue op || !op.TryGetValue(out string? name) || range[i + 1] is not JsonValue n || !n.TryGetValue(out double bound))
            {
                throw new FilterPatternException($"{InvalidMessage} numeric comparisons are an operator and a number.");
            }

            tests.Add(name switch
            {
                "=" => x => x == bound,
                "<" => x => x < bound,
                "<=" => x => x <= bound,
                ">" => x => x > bound,
                ">=" => x => x >= bound,
                _ => throw new FilterPatternException($"{InvalidMessage} Unknown numeric operator \"{name}\"."),
            });
        }

        return v => v is JsonValue x && x.GetValueKind() == JsonValueKind.Number
            && double.TryParse(x.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && tests.All(t => t(d));
    }

    private delegate bool Matcher(JsonNode? value);

    private interface INode
    {
        /// <param name="present">Whether the field exists in the record (a null value is present).</param>
        bool Matches(JsonNode? value, bool present);
    }

    private sealed class ExistsMatcher(bool exists)
    {
        public bool Match(JsonNode? value) => exists; // called only for present fields; absence is decided by LeafNode
    }

    private sealed class ObjectNode(List<(string Key, INode Node)> fields, List<ObjectNode> alternatives) : INode
    {
        public bool Matches(JsonNode? document) => Matches(document, present: true);

        public bool Matches(JsonNode? value, bool present)
        {
            if (value is not JsonObject obj)
            {
                // A nested pattern against a missing or non-object field: only all-"exists: false" patterns match.
                return fields.All(f => f.Node.Matches(null, present: false)) && alternatives.Count == 0;
            }

            return fields.All(f => f.Node.Matches(obj[f.Key], obj.ContainsKey(f.Key)))
                && (alternatives.Count == 0 || alternatives.Any(a => a.Matches(obj, present: true)));
        }
    }

    private sealed class LeafNode(Matcher[] matchers) : INode
    {
        public bool Matches(JsonNode? value, bool present)
        {
            if (!present)
            {
                return matchers.Any(m => m.Target is ExistsMatcher && !m(null));
            }

            if (value is JsonObject)
            {
                // A JSON body matched by plain values: Lambda drops it. Only "exists" looks at an object.
                return matchers.Any(m => m.Target is ExistsMatcher && m(null));
            }

            return value is JsonArray items
                ? items.Any(i => i is not JsonObject && matchers.Any(m => m(i)))
                : matchers.Any(m => m(value));
        }
    }
}

public sealed class FilterPatternException(string message) : Exception(message);
