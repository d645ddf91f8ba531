using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Gateway.Tests.Support;
using RepoPaths = FnOperator.Gateway.Tests.Support.RepoPaths;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>
/// examples/alias-canary/README.md step by step in local mode, on a copy of examples/hello-node and examples/alias-canary
/// (the README edits hello-node's code): publish two versions, the 90/10 alias, the split, shifting and deleting the
/// alias, and the alias.yaml manifest registered after a restart.
/// </summary>
public sealed class AliasCanaryExampleTests
{
    private const string Marker = "requestId: context.awsRequestId,";

    [Fact]
    public async Task Alias_canary_readme_publishes_two_versions_and_splits_90_10()
    {
        using var temp = new TempManifests();
        Copy(Path.Combine(RepoPaths.Root, "examples", "hello-node"), Path.Combine(temp.Root, "examples", "hello-node"));
        Copy(Path.Combine(RepoPaths.Root, "examples", "alias-canary"), Path.Combine(temp.Root, "examples", "alias-canary"));
        var index = Path.Combine(temp.Root, "examples", "hello-node", "src", "index.js");
        var original = await File.ReadAllTextAsync(index);
        Assert.Contains(Marker, original, StringComparison.Ordinal); // what the README's sed edits
        var env = new Dictionary<string, string> { ["FNOP_LOCAL_STATE"] = temp.Folder("state") };
        var examples = Path.Combine(temp.Root, "examples");

        await using (var local = await LocalModeProcess.StartAsync(examples, env))
        {
            await local.WaitForLineAsync(l => l.StartsWith("Published versions and aliases are kept in", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.True(local.Output.Contains("Alias live: default/hello-node has no version 1, 2 yet", StringComparison.Ordinal), local.Output);
            var (p1, p1Out, p1Err) = await Aws(local, "publish-version", "--function-name", "hello-node", "--description", "v1");
            Assert.True(p1 == 0, p1Err);
            Assert.Equal("1", (string?)JsonNode.Parse(p1Out)!["Version"]);
            await File.WriteAllTextAsync(index, original.Replace(Marker, Marker + "  version: process.env.AWS_LAMBDA_FUNCTION_VERSION,", StringComparison.Ordinal));
            var (p2, p2Out, p2Err) = await Aws(local, "publish-version", "--function-name", "hello-node", "--description", "v2");
            Assert.True(p2 == 0, p2Err);
            Assert.Equal("2", (string?)JsonNode.Parse(p2Out)!["Version"]);
            await File.WriteAllTextAsync(index, original); // git checkout: $LATEST back, the versions keep their copies
            var (a, _, aErr) = await Aws(local, "create-alias", "--function-name", "hello-node", "--name", "live", "--function-version", "1",
                "--routing-config", """{"AdditionalVersionWeights":{"2":0.1}}""");
            Assert.True(a == 0, aErr);

            // The README's loop, with the CLI: each answer comes from the version that ran (only version 2 reports it).
            for (var i = 0; i < 3; i++)
            {
                var cli = await AwsCli.InvokeAsync(local.Endpoint, "hello-node:live", """{"name":"Ada"}""");
                Assert.True(cli.ExitCode == 0, cli.Stderr);
                var executed = (string)cli.Json["ExecutedVersion"]!;
                Assert.Contains(executed, new[] { "1", "2" });
                Assert.Equal(executed == "2" ? "2" : null, (string?)JsonNode.Parse(cli.OutFile)!["version"]);
            }

            // The split over 2,000 invocations (the Invoke API the CLI calls): 10 % ± 3 points (4.5 sigma) to version 2.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
            var counts = new Dictionary<string, int>();
            for (var i = 0; i < 2000; i++)
            {
                using var response = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/hello-node:live/invocations", new StringContent("""{"name":"Ada"}"""));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
                var executed = response.Headers.GetValues("X-Amz-Executed-Version").Single();
                Assert.Equal(executed == "2" ? "2" : null, (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["version"]);
                counts[executed] = counts.GetValueOrDefault(executed) + 1;
            }

            Assert.Equal(["1", "2"], counts.Keys.Order());
            Assert.InRange(counts["2"] / 2000.0, 0.07, 0.13);

            // Shift all traffic to version 2, then delete the alias.
            var (u, _, uErr) = await Aws(local, "update-alias", "--function-name", "hello-node", "--name", "live", "--function-version", "2",
                "--routing-config", """{"AdditionalVersionWeights":{}}""");
            Assert.True(u == 0, uErr);
            var shifted = await AwsCli.InvokeAsync(local.Endpoint, "hello-node:live", """{"name":"Ada"}""");
            Assert.Equal("2", (string?)shifted.Json["ExecutedVersion"]);
            var (d, _, dErr) = await Aws(local, "delete-alias", "--function-name", "hello-node", "--name", "live");
            Assert.True(d == 0, dErr);
            var gone = await AwsCli.InvokeAsync(local.Endpoint, "hello-node:live", "{}");
            Assert.Contains("ResourceNotFoundException", gone.Stderr, StringComparison.Ordinal);
        }

        // "Or restart make run after publishing: the alias.yaml manifest then resolves and is registered."
        await using (var again = await LocalModeProcess.StartAsync(examples, env))
        {
            await again.WaitForLineAsync(l => l.StartsWith("Published versions and aliases are kept in", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            Assert.True(again.Output.Contains("Alias live: hello-node:live runs version 1, 10% version 2", StringComparison.Ordinal), again.Output);
            var (g, gOut, gErr) = await Aws(again, "get-alias", "--function-name", "hello-node", "--name", "live");
            Assert.True(g == 0, gErr);
            Assert.Equal(("1", 0.1), ((string?)JsonNode.Parse(gOut)!["FunctionVersion"], (double)JsonNode.Parse(gOut)!["RoutingConfig"]!["AdditionalVersionWeights"]!["2"]!));
            var v1 = await AwsCli.InvokeAsync(again.Endpoint, "hello-node", """{"name":"Ada"}""", "--qualifier", "1");
            Assert.Equal("1", (string?)v1.Json["ExecutedVersion"]);
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> Aws(LocalModeProcess local, params string[] args) =>
        AwsCli.RunAsync(["lambda", .. args, "--endpoint-url", local.Endpoint, "--region", "us-east-1", "--output", "json"]);

    private static void Copy(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
