using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Local;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Local mode with the AWS CLI: publish-version snapshots the code folder, aliases and a canary, across a restart.</summary>
public sealed class LocalVersionsTests
{
    private const string Handler = """
        const fs = require('fs');
        exports.handler = async () => ({ version: process.env.AWS_LAMBDA_FUNCTION_VERSION, code: fs.readFileSync(__dirname + '/mark.txt', 'utf8').trim() });
        """;

    [Fact]
    public async Task Local_mode_publishes_snapshots_routes_aliases_and_keeps_them_across_a_restart()
    {
        using var temp = new TempManifests();
        temp.NodeFunction("fn", "canary", "timeoutSeconds: 10", Handler);
        var mark = temp.Write("fn/src/mark.txt", "one");
        var state = temp.Folder("state");
        var env = new Dictionary<string, string> { ["FNOP_LOCAL_STATE"] = state };

        await using (var local = await LocalModeProcess.StartAsync(Path.Combine(temp.Root, "fn"), env))
        {
            var (p1, p1Out, p1Err) = await AwsAsync(local, "lambda", "publish-version", "--function-name", "canary", "--description", "first");
            Assert.True(p1 == 0, p1Err);
            Assert.Equal("1", (string?)JsonNode.Parse(p1Out)!["Version"]);
            await File.WriteAllTextAsync(mark, "two");
            var (p2, p2Out, p2Err) = await AwsAsync(local, "lambda", "publish-version", "--function-name", "canary");
            Assert.True(p2 == 0, p2Err);
            Assert.Equal("2", (string?)JsonNode.Parse(p2Out)!["Version"]);
            var (a, _, aErr) = await AwsAsync(local, "lambda", "create-alias", "--function-name", "canary", "--name", "live", "--function-version", "1",
                "--routing-config", """{"AdditionalVersionWeights":{"2":0.5}}""");
            Assert.True(a == 0, aErr);

            await AssertRunsAsync(local, "canary", ["--qualifier", "1"], "1", "one");
            await AssertRunsAsync(local, "canary:2", [], "2", "two");
            await AssertRunsAsync(local, "canary", [], "$LATEST", "two");
            await File.WriteAllTextAsync(mark, "three"); // $LATEST changes; the published versions keep their copies
            await AssertRunsAsync(local, "canary", ["--qualifier", "1"], "1", "one");
        }

        await using (var again = await LocalModeProcess.StartAsync(Path.Combine(temp.Root, "fn"), env))
        {
            var (list, listOut, listErr) = await AwsAsync(again, "lambda", "list-versions-by-function", "--function-name", "canary");
            Assert.True(list == 0, listErr);
            Assert.Equal(["$LATEST", "1", "2"], JsonNode.Parse(listOut)!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
            var (get, getOut, _) = await AwsAsync(again, "lambda", "get-alias", "--function-name", "canary", "--name", "live");
            Assert.Equal(0, get);
            Assert.Equal(0.5, (double)JsonNode.Parse(getOut)!["RoutingConfig"]!["AdditionalVersionWeights"]!["2"]!);

            var seen = new HashSet<string>();
            for (var i = 0; i < 12 && seen.Count < 2; i++)
            {
                var result = await AwsCli.InvokeAsync(again.Endpoint, "canary:live", "{}");
                Assert.True(result.ExitCode == 0, result.Stderr);
                var body = JsonNode.Parse(result.OutFile)!;
                Assert.Equal((string?)result.Json["ExecutedVersion"], (string?)body["version"]);
                Assert.Equal((string?)body["version"] == "1" ? "one" : "two", (string?)body["code"]);
                seen.Add((string)body["version"]!);
            }

            Assert.Equal(["1", "2"], seen.Order());
            var (p3, p3Out, _) = await AwsAsync(again, "lambda", "publish-version", "--function-name", "canary");
            Assert.Equal((0, "3"), (p3, (string?)JsonNode.Parse(p3Out)!["Version"])); // numbers continue after a restart
            var (u, _, uErr) = await AwsAsync(again, "lambda", "update-alias", "--function-name", "canary", "--name", "live", "--function-version", "3",
                "--routing-config", """{"AdditionalVersionWeights":{}}""");
            Assert.True(u == 0, uErr);
            await AssertRunsAsync(again, "canary:live", [], "3", "three");
        }
    }

    private static async Task AssertRunsAsync(LocalModeProcess local, string name, string[] extra, string version, string code)
    {
        var result = await AwsCli.InvokeAsync(local.Endpoint, name, "{}", extra);
        Assert.True(result.ExitCode == 0, $"{name}: {result.Stderr}\n{local.Output}");
        Assert.Equal(version, (string?)result.Json["ExecutedVersion"]);
        var body = JsonNode.Parse(result.OutFile)!;
        Assert.Equal((version, code), ((string?)body["version"], (string?)body["code"]));
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> AwsAsync(LocalModeProcess local, params string[] args) =>
        AwsCli.RunAsync([.. args, "--endpoint-url", local.Endpoint, "--region", "us-east-1", "--output", "json"]);
}
