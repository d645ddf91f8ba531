using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>A manifest's spec.logging reaches the function's real runtime through local mode and the shim.</summary>
public sealed class LocalModeLoggingTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Json_log_format_from_spec_logging_reaches_the_function_and_its_level_drops_lower_levels()
    {
        var name = "jsonlog-" + Guid.NewGuid().ToString("N")[..8];
        var tag = "tag" + Guid.NewGuid().ToString("N")[..8];
        dir.NodeFunction(name, name, "logging:\n  logFormat: JSON\n  applicationLogLevel: WARN", handlerCode: $$"""
            exports.handler = async () => {
              console.info("{{tag}} info");
              console.warn("{{tag}} warn");
              return { format: process.env.AWS_LAMBDA_LOG_FORMAT, level: process.env.AWS_LAMBDA_LOG_LEVEL };
            };
            """);
        await using var local = await LocalModeProcess.StartAsync(dir.Root);

        using var http = new HttpClient { Timeout = Wait };
        var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{name}/invocations", new StringContent("{}", Encoding.UTF8, "application/json"));
        var result = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var line = await local.WaitForLineAsync(l => l.Contains($"{tag} warn", StringComparison.Ordinal), Wait);

        Assert.Equal(("JSON", "WARN"), ((string?)result["format"], (string?)result["level"]));
        var json = JsonNode.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..])!;
        Assert.Equal(("WARN", $"{tag} warn"), ((string?)json["level"], (string?)json["message"]));
        Assert.Empty(local.Lines(l => l.Contains($"{tag} info", StringComparison.Ordinal)));
    }
}
