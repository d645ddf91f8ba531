using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FnOperator.KubeApiServer;

/// <summary>One label requirement: key with an operator (=, ==, !=, in, notin, exists, !exists) and values.</summary>
public sealed record LabelRequirement(string Key, string Operator, IReadOnlyList<string> Values)
{
    public bool Matches(JsonObject? labels)
    {
        var value = labels?[Key] is JsonValue v ? (string?)v : null;
        return Operator switch
        {
            "exists" => value is not null,
            "!exists" => value is null,
            "=" or "==" or "in" => value is not null && Values.Contains(value),
            "!=" or "notin" => value is null || !Values.Contains(value),
            _ => false,
        };
    }
}

/// <summary>Label selectors in the API's string form: "app=x,tier!=db,env in (a,b),!legacy,track".</summary>
public sealed partial record LabelSelector(IReadOnlyList<LabelRequirement> Requirements)
{
    public static readonly LabelSelector Everything = new([]);

    /// <summary>Parses a selector; throws <see cref="ApiException"/> (400 BadRequest) when it is malformed.</summary>
    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        var requirements = new List<LabelRequirement>();
        foreach (var term in SplitTerms(text))
        {
            var match = Term().Match(term);
            if (!match.Success)
            {
                throw ApiException.BadRequest($"unable to parse requirement: found '{term}', expected: key, !key, key=value, key!=value, key in (values) or key notin (values)");
            }

            var key = match.Groups["key"].Value;
            if (match.Groups["not"].Success)
            {
                requirements.Add(new LabelRequirement(key, "!exists", []));
            }
            else if (match.Groups["set"].Success)
            {
                var values = match.Groups["values"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                requirements.Add(new LabelRequirement(key, match.Groups["set"].Value, values));
            }
            else if (match.Groups["op"].Success)
            {
                requirements.Add(new LabelRequirement(key, match.Groups["op"].Value, [match.Groups["value"].Value]));
            }
            else
            {
                requirements.Add(new LabelRequirement(key, "exists", []));
            }
        }

        return new LabelSelector(requirements);
    }

    /// <summary>The selector a matchLabels map stands for ("a=b,c=d").</summary>
    public static string FromMatchLabels(JsonObject? matchLabels) =>
        string.Join(",", (matchLabels ?? []).Select(p => $"{p.Key}={(string?)p.Value}"));

    public bool Matches(JsonObject obj)
    {
        var labels = obj["metadata"]?["labels"] as JsonObject;
        return Requirements.All(r => r.Matches(labels));
    }

    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                yield return text[start..i].Trim();
                start = i + 1;
            }
            else if (text[i] == '(')
            {
                depth++;
            }
            else if (text[i] == ')')
            {
                depth--;
            }
        }
    }

    [GeneratedRegex(@"^(?:(?<not>!)\s*(?<key>[A-Za-z0-9_./-]+)|(?<key>[A-Za-z0-9_./-]+)\s*(?:(?<op>==|!=|=)\s*(?<value>[A-Za-z0-9_.-]*)|\s+(?<set>in|notin)\s*\((?<values>[^()]*)\))?)$")]
    private static partial Regex Term();
}
