namespace FnOperator.Chart.Tests;

/// <summary>Bad values stop helm template with a message that names the value (values.schema.json or a template check).</summary>
public sealed class SchemaTests
{
    [Theory]
    [InlineData("operator.replicas=two", "/operator/replicas")]
    [InlineData("operator.replicas=0", "/operator/replicas")]
    [InlineData("operatr.replicas=2", "'operatr' not allowed")]
    [InlineData("gateway.service.port=70000", "/gateway/service/port")]
    [InlineData("imagePullPolicy=Sometimes", "/imagePullPolicy")]
    [InlineData("imageRegistry=registry.example.com", "/imageRegistry")]
    [InlineData("networkPolicy.functionNamespaces={Bad_Namespace}", "/networkPolicy/functionNamespaces/0")]
    [InlineData("nats.replicas=2", "/nats/replicas")]
    [InlineData("nats.externalUrl=http://nats:4222", "/nats/externalUrl")]
    [InlineData("serviceMonitor.interval=soon", "/serviceMonitor/interval")]
    [InlineData("operator.watchNamespace=Team_A", "/operator/watchNamespace")]
    [InlineData("gateway.invokeBaseUrl=gateway.example.com", "/gateway/invokeBaseUrl")]
    public async Task Schema_rejects_bad_values_naming_the_field(string set, string message)
    {
        var result = await Helm.TemplateAsync([set]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("values don't meet the specifications of the schema", result.StdErr);
        Assert.Contains(message, result.StdErr);
    }

    [Theory]
    [InlineData(new[] { "nats.enabled=true", "nats.externalUrl=nats://a:4222" }, "nats.enabled and nats.externalUrl are mutually exclusive")]
    [InlineData(new[] { "gateway.replicas=2" }, "gateway.replicas > 1 needs a shared queue")]
    public async Task Contradictory_values_fail_with_a_clear_message(string[] sets, string message)
    {
        var result = await Helm.TemplateAsync(sets);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public async Task Every_default_value_is_described_by_the_schema()
    {
        // The schema forbids unknown keys, so rendering the defaults proves values.yaml and the schema agree.
        var result = await Helm.TemplateAsync([]);
        Assert.True(result.ExitCode == 0, result.Describe());
    }
}
