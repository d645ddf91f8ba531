using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation.Cel;

namespace FnOperator.KubeApiServer.Tests.Validation;

public sealed class CelTests
{
    private const string Self = """{"name": "fn-a", "memory": 256, "tags": ["a", "b", "c"], "env": {"K": "v"}, "nested": {"on": true}, "nothing": null}""";

    [Theory]
    [InlineData("self.memory == 256", "true")]
    [InlineData("self.memory != 256", "false")]
    [InlineData("self.memory >= 128 && self.memory <= 10240", "true")]
    [InlineData("self.memory < 128 || self.name == 'fn-a'", "true")]
    [InlineData("!self.nested.on", "false")]
    [InlineData("has(self.name) && !has(self.missing)", "true")]
    [InlineData("has(self.nested.on)", "true")]
    [InlineData("size(self.tags) == 3 && self.tags.size() == 3", "true")]
    [InlineData("size(self.name)", "4")]
    [InlineData("self.memory / 100 + self.memory % 100 * 2 - 1", "113")]
    [InlineData("-self.memory", "-256")]
    [InlineData("self.memory > 100 ? 'big' : 'small'", "\"big\"")]
    [InlineData("'b' in self.tags", "true")]
    [InlineData("'K' in self.env", "true")]
    [InlineData("self.tags.all(t, size(t) == 1)", "true")]
    [InlineData("self.tags.exists(t, t == 'c')", "true")]
    [InlineData("self.tags.exists_one(t, t > 'a')", "false")]
    [InlineData("self.tags.map(t, t + '!')", """["a!","b!","c!"]""")]
    [InlineData("self.tags.map(t, t != 'b', t + t)", """["aa","cc"]""")]
    [InlineData("self.tags.filter(t, t != 'a')", """["b","c"]""")]
    [InlineData("self.env.all(k, k == 'K')", "true")]
    [InlineData("self.name.startsWith('fn-') && self.name.endsWith('a') && self.name.contains('n-')", "true")]
    [InlineData("self.name.matches('^[a-z-]+$')", "true")]
    [InlineData("int('42') + int(1.9)", "43")]
    [InlineData("string(self.memory) + 'Mi'", "\"256Mi\"")]
    [InlineData("self.nothing == null", "true")]
    [InlineData("[1, 2] + [3] == [1, 2, 3]", "true")]
    [InlineData("self.tags[1]", "\"b\"")]
    [InlineData("self.env['K']", "\"v\"")]
    [InlineData("1 == 1.0", "true")]
    [InlineData("\"dq\" + r'\\n'", "\"dq\\\\n\"")]
    [InlineData("self.missing == 1 || true", "true")]
    public void Expressions_evaluate_like_cel(string expression, string expectedJson)
    {
        var result = Evaluate(expression);

        Assert.True(CelEvaluator.CelEquals(CelEvaluator.FromJson(JsonNode.Parse(expectedJson)), result), $"{expression} gave {result}");
    }

    [Theory]
    [InlineData("self.missing == 1", "no such key: missing")]
    [InlineData("self.memory / 0 == 1", "division by zero")]
    [InlineData("self.name + 1", "no such overload")]
    [InlineData("self.tags[5]", "index out of range")]
    [InlineData("9223372036854775807 + 1", "integer overflow")]
    public void Runtime_errors_are_reported(string expression, string expected)
    {
        var error = Assert.Throws<CelEvaluationException>(() => Evaluate(expression));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("self.tags.sum() > 0")]
    [InlineData("timestamp(self.name)")]
    [InlineData("self.memory == ")]
    [InlineData("has(self)")]
    [InlineData("'unterminated")]
    public void Expressions_outside_the_subset_or_malformed_are_rejected_at_parse_time(string expression) =>
        Assert.Throws<CelException>(() => CelParser.Parse(expression));

    private static object Evaluate(string expression) =>
        CelEvaluator.Evaluate(CelParser.Parse(expression), new Dictionary<string, object> { ["self"] = CelEvaluator.FromJson(JsonNode.Parse(Self)) });
}
