using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>Equality-based label selectors ("a=b,c=d").</summary>
public sealed record LabelSelector(IReadOnlyList<(string Key, string Value)> Terms)
{
    public static LabelSelector Parse(string? text) => new(string.IsNullOrEmpty(text)
        ? []
        : [.. text.Split(',').Select(t => t.Split('=', 2)).Select(kv => (kv[0].Trim(), kv.Length > 1 ? kv[1].Trim() : ""))]);

    public bool Matches(JsonObject obj) =>
        Terms.All(t => (string?)obj["metadata"]?["labels"]?[t.Key] == t.Value);
}
