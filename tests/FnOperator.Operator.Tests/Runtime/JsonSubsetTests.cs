using System.Text.Json.Nodes;
using FnOperator.Operator.Runtime;

namespace FnOperator.Operator.Tests.Runtime;

public sealed class JsonSubsetTests
{
    [Theory]
    [InlineData("""{"a":1}""", """{"a":1,"b":2}""", true)]
    [InlineData("""{"a":1}""", """{"a":2}""", false)]
    [InlineData("""{"a":{"x":"y"}}""", """{"a":{"x":"y","defaulted":true}}""", true)]
    [InlineData("""{"a":[{"n":"c"}]}""", """{"a":[{"n":"c","policy":"IfNotPresent"}]}""", true)]
    [InlineData("""{"a":[{"n":"c"}]}""", """{"a":[{"n":"c"},{"n":"injected"}]}""", false)]
    [InlineData("""{"a":[]}""", """{}""", true)]
    [InlineData("""{"a":{}}""", """{}""", true)]
    [InlineData("""{"a":"x"}""", """{}""", false)]
    [InlineData("""{"a":null}""", """{}""", true)]
    [InlineData("""{"a":"1"}""", """{"a":1}""", false)]
    public void Desired_fields_must_match_and_extra_actual_fields_are_ignored(string desired, string actual, bool expected) =>
        Assert.Equal(expected, JsonSubset.IsSubset(JsonNode.Parse(desired), JsonNode.Parse(actual)));
}
