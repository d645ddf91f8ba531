using System.Text.Json.Nodes;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Versions and aliases through the gateway with the real AWS CLI v2 and the AWS SDK for JavaScript.</summary>
public sealed class VersionApiTests
{
    [Fact]
    public async Task Aws_cli_publishes_versions_checks_sha256_and_revision_and_returns_the_last_version_when_unchanged()
    {
        await using var world = await VersionWorkers.StartAsync("pub");
        var (wrongExit, _, wrongErr) = await world.AwsAsync("lambda", "publish-version", "--function-name", "pub", "--code-sha256", new string('0', 64));
        var (firstExit, firstOut, firstErr) = await world.AwsAsync("lambda", "publish-version", "--function-name", "pub", "--description", "first",
            "--code-sha256", VersionWorkers.Sha);
        var (againExit, againOut, _) = await world.AwsAsync("lambda", "publish-version", "--function-name", "pub");
        var (latestExit, latestOut, _) = await world.AwsAsync("lambda", "get-function-configuration", "--function-name", "pub");
        var revision = (string)JsonNode.Parse(latestOut)!["RevisionId"]!;
        world.Gateway.Add("pub", VersionWorkers.Spec(512));
        var (staleExit, _, staleErr) = await world.AwsAsync("lambda", "publish-version", "--function-name", "pub", "--revision-id", revision);
        var (secondExit, secondOut, _) = await world.AwsAsync("lambda", "publish-version", "--function-name", "pub");
        var (listExit, listOut, _) = await world.AwsAsync("lambda", "list-versions-by-function", "--function-name", "pub");
        var (v1Exit, v1Out, _) = await world.AwsAsync("lambda", "get-function-configuration", "--function-name", "pub", "--qualifier", "1");
        var (fnExit, fnOut, _) = await world.AwsAsync("lambda", "get-function", "--function-name", "pub", "--qualifier", "2");
        var (missingExit, _, missingErr) = await world.AwsAsync("lambda", "get-function-configuration", "--function-name", "pub", "--qualifier", "9");

        Assert.NotEqual(0, wrongExit);
        Assert.Contains("InvalidParameterValueException", wrongErr, StringComparison.Ordinal);
        Assert.Contains($"CodeSHA256 ({new string('0', 64)}) is different from current CodeSHA256 in $LATEST ({VersionWorkers.Sha}). Please try again with the CodeSHA256 in $LATEST.", wrongErr, StringComparison.Ordinal);
        Assert.True(firstExit == 0, firstErr);
        var first = JsonNode.Parse(firstOut)!;
        Assert.Equal("1", (string?)first["Version"]);
        Assert.Equal("first", (string?)first["Description"]);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:pub:1", (string?)first["FunctionArn"]);
        Assert.Equal((0, "1"), (againExit, (string?)JsonNode.Parse(againOut)!["Version"])); // unchanged: the last version, no new number
        Assert.Equal(0, latestExit);
        Assert.NotEqual(0, staleExit);
        Assert.Contains("PreconditionFailedException", staleErr, StringComparison.Ordinal);
        Assert.Contains("The Revision Id provided does not match the latest Revision Id.", staleErr, StringComparison.Ordinal);
        Assert.Equal((0, "2"), (secondExit, (string?)JsonNode.Parse(secondOut)!["Version"]));
        Assert.Equal(0, listExit);
        Assert.Equal(["$LATEST", "1", "2"], JsonNode.Parse(listOut)!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
        Assert.Equal((0, 128), (v1Exit, (int)JsonNode.Parse(v1Out)!["MemorySize"]!)); // version 1 kept its configuration
        Assert.Equal(0, fnExit);
        Assert.Equal(("2", 512), ((string?)JsonNode.Parse(fnOut)!["Configuration"]!["Version"], (int)JsonNode.Parse(fnOut)!["Configuration"]!["MemorySize"]!));
        Assert.NotEqual(0, missingExit);
        Assert.Contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:pub:9", missingErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aws_cli_invokes_by_each_qualifier_form_and_the_executed_version_is_the_one_that_ran()
    {
        await using var world = await VersionWorkers.StartAsync("shop", ns: "team");
        world.Gateway.Functions.PublishVersion(world.Key, "1", VersionWorkers.Spec(128));
        world.Gateway.Functions.PublishVersion(world.Key, "2", VersionWorkers.Spec(256));
        world.Serve("1");
        world.Serve("2");
        var (aliasExit, aliasOut, aliasErr) = await world.AwsAsync("lambda", "create-alias", "--function-name", "team/shop", "--name", "live", "--function-version", "2");
        Assert.True(aliasExit == 0, aliasErr);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:team.shop:live", (string?)JsonNode.Parse(aliasOut)!["AliasArn"]);

        var cases = new (string Name, string[] Extra, string Expected)[]
        {
            ("team/shop", ["--qualifier", "1"], "1"),
            ("team/shop:2", [], "2"),
            ("team/shop:live", [], "2"),
            ("team.shop:1", [], "1"),
            ("arn:aws:lambda:us-east-1:000000000000:function:team.shop:1", [], "1"),
            ("arn:aws:lambda:us-east-1:000000000000:function:team.shop:live", [], "2"),
            ("team/shop", [], "$LATEST"),
        };
        foreach (var (name, extra, expected) in cases)
        {
            var result = await AwsCli.InvokeAsync(world.Endpoint, name, "{}", extra);
            Assert.True(result.ExitCode == 0, $"{name}: {result.Stderr}");
            Assert.Equal(expected, (string?)result.Json["ExecutedVersion"]);
            Assert.Equal(JsonValue.Create(expected).ToJsonString(), result.OutFile);
        }

        var unknown = await AwsCli.InvokeAsync(world.Endpoint, "team/shop", "{}", "--qualifier", "7");
        Assert.NotEqual(0, unknown.ExitCode);
        Assert.Contains("ResourceNotFoundException", unknown.Stderr, StringComparison.Ordinal);
        Assert.Contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:team/shop:7", unknown.Stderr, StringComparison.Ordinal);
        var conflict = await AwsCli.InvokeAsync(world.Endpoint, "team/shop:1", "{}", "--qualifier", "2");
        Assert.Contains("The derived qualifier from the function name does not match the specified qualifier.", conflict.Stderr, StringComparison.Ordinal);
        var unknownAlias = await AwsCli.InvokeAsync(world.Endpoint, "team/shop:blue", "{}");
        Assert.Contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:team/shop:blue", unknownAlias.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sdk_weighted_alias_splits_2000_invocations_within_3_points_and_alias_calls_round_trip()
    {
        await using var world = await VersionWorkers.StartAsync("canary");
        world.Gateway.Functions.PublishVersion(world.Key, "1", VersionWorkers.Spec(128));
        world.Gateway.Functions.PublishVersion(world.Key, "2", VersionWorkers.Spec(256));
        world.Serve("1", concurrency: 8);
        world.Serve("2", concurrency: 8);

        var result = await world.SdkAsync("canary", 2000);

        Assert.Equal(["$LATEST", "1", "2"], result["versions"]!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:canary:canary", (string?)result["create"]!["AliasArn"]);
        Assert.Equal(0.1, (double)result["get"]!["RoutingConfig"]!["AdditionalVersionWeights"]!["2"]!);
        Assert.Equal(("ResourceConflictException", 409), ((string?)result["duplicate"]!["error"], (int)result["duplicate"]!["httpStatus"]!));
        var counts = result["counts"]!.AsObject();
        Assert.Equal(2000, counts.Sum(c => (int)c.Value!));
        var share = (int)counts["2"]! / 2000.0;
        // A 90/10 canary: over 2,000 draws the share's standard deviation is 0.67 points, so ±3 points is 4.5 sigma
        // (a correct router fails this about once in 150,000 runs; at 75/25 it would be 3.1 sigma, once in 500).
        Assert.InRange(share, 0.07, 0.13);
        Assert.Equal(0, (int)result["mismatched"]!);
        Assert.Equal("2", (string?)result["update"]!["FunctionVersion"]);
        Assert.Null(result["update"]!["RoutingConfig"]);
        Assert.Equal("2", (string?)result["afterShift"]);
        Assert.Equal(["canary"], result["list"]!["Aliases"]!.AsArray().Select(a => (string)a!["Name"]!));
        // Every qualifier form through the SDK (the alias now runs version 2 only).
        Assert.Equal("""{"qualifier":"1","nameQualifier":"1","namespaceName":"1","arnVersion":"1","arnAlias":"2"}""", result["forms"]!.ToJsonString());
        Assert.Equal(("InvalidParameterValueException", 400), ((string?)result["wrongSha"]!["error"], (int)result["wrongSha"]!["httpStatus"]!));
        Assert.StartsWith("CodeSHA256 (" + new string('0', 64) + ") is different from current CodeSHA256 in $LATEST", (string?)result["wrongSha"]!["message"], StringComparison.Ordinal);
        Assert.Equal(("PreconditionFailedException", 412), ((string?)result["staleRevision"]!["error"], (int)result["staleRevision"]!["httpStatus"]!));
        Assert.StartsWith("The Revision Id provided does not match the latest Revision Id.", (string?)result["staleRevision"]!["message"], StringComparison.Ordinal);
        Assert.Equal(("ResourceNotFoundException", 404), ((string?)result["unknownAlias"]!["error"], (int)result["unknownAlias"]!["httpStatus"]!));
        Assert.Equal("Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:canary:nope", (string?)result["unknownAlias"]!["message"]);
        Assert.Equal("Function not found: arn:aws:lambda:us-east-1:000000000000:function:canary:42", (string?)result["unknownVersion"]!["message"]);
        Assert.Null(result["deleted"]!["error"]);
        Assert.Equal("ResourceNotFoundException", (string?)result["afterDelete"]!["error"]);
    }

    [Fact]
    public async Task Alias_rules_and_unserved_calls_answer_lambda_shaped_errors()
    {
        await using var world = await VersionWorkers.StartAsync("rules");
        world.Gateway.Functions.PublishVersion(world.Key, "1", VersionWorkers.Spec(128));
        var (latestExit, _, latestErr) = await world.AwsAsync("lambda", "create-alias", "--function-name", "rules", "--name", "x", "--function-version", "$LATEST",
            "--routing-config", """{"AdditionalVersionWeights":{"1":0.5}}""");
        var (missingExit, _, missingErr) = await world.AwsAsync("lambda", "create-alias", "--function-name", "rules", "--name", "x", "--function-version", "3");
        var (updateExit, _, updateErr) = await world.AwsAsync("lambda", "update-alias", "--function-name", "rules", "--name", "ghost", "--function-version", "1");
        var (createFnExit, _, createFnErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "rules");

        Assert.NotEqual(0, latestExit);
        Assert.Contains("$LATEST is not supported for an alias pointing to more than 1 version", latestErr, StringComparison.Ordinal);
        Assert.NotEqual(0, missingExit);
        Assert.Contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:rules:3", missingErr, StringComparison.Ordinal);
        Assert.NotEqual(0, updateExit);
        Assert.Contains("Alias not found: arn:aws:lambda:us-east-1:000000000000:function:rules:ghost", updateErr, StringComparison.Ordinal);
        Assert.NotEqual(0, createFnExit);
        Assert.Contains("NotImplementedException", createFnErr, StringComparison.Ordinal);
        Assert.Contains("FnOperator does not implement DeleteFunction", createFnErr, StringComparison.Ordinal);
        Assert.True(world.Gateway.Functions.Contains(new FunctionKey("default", "rules")));

        // update-alias with a RevisionId: the current one succeeds (and changes it), the old one is 412.
        var (digitsExit, _, digitsErr) = await world.AwsAsync("lambda", "create-alias", "--function-name", "rules", "--name", "123", "--function-version", "1");
        Assert.NotEqual(0, digitsExit);
        Assert.Contains("not all digits", digitsErr, StringComparison.Ordinal);
        var (createExit, createOut, createErr) = await world.AwsAsync("lambda", "create-alias", "--function-name", "rules", "--name", "live", "--function-version", "1");
        Assert.True(createExit == 0, createErr);
        var first = (string)JsonNode.Parse(createOut)!["RevisionId"]!;
        var (okExit, okOut, okErr) = await world.AwsAsync("lambda", "update-alias", "--function-name", "rules", "--name", "live", "--description", "now", "--revision-id", first);
        Assert.True(okExit == 0, okErr);
        Assert.NotEqual(first, (string?)JsonNode.Parse(okOut)!["RevisionId"]);
        var (staleExit, _, staleErr) = await world.AwsAsync("lambda", "update-alias", "--function-name", "rules", "--name", "live", "--description", "later", "--revision-id", first);
        Assert.NotEqual(0, staleExit);
        Assert.Contains("(PreconditionFailedException) when calling the UpdateAlias operation", staleErr, StringComparison.Ordinal);
        Assert.Contains("The Revision Id provided does not match the latest Revision Id.", staleErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aws_cli_delete_function_with_a_qualifier_deletes_that_version_with_lambdas_errors()
    {
        await using var world = await VersionWorkers.StartAsync("del");
        world.Gateway.Functions.PublishVersion(world.Key, "1", VersionWorkers.Spec(128));
        world.Gateway.Functions.PublishVersion(world.Key, "2", VersionWorkers.Spec(256));
        world.Gateway.Functions.PublishVersion(world.Key, "3", VersionWorkers.Spec(512));
        world.Gateway.Functions.SetAlias(world.Key, "live", new AliasRoute("1", "3", 0.2));

        var (latestExit, _, latestErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del", "--qualifier", "$LATEST");
        var (aliasExit, _, aliasErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del", "--qualifier", "live");
        var (primaryExit, _, primaryErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del", "--qualifier", "1");
        var (weightedExit, _, weightedErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del:3");
        var (conflictExit, _, conflictErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del:2", "--qualifier", "1");
        var (ghostExit, _, ghostErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "nobody", "--qualifier", "1");
        var (absentExit, _, absentErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del", "--qualifier", "9");
        var (deleteExit, _, deleteErr) = await world.AwsAsync("lambda", "delete-function", "--function-name", "del", "--qualifier", "2");
        var (listExit, listOut, _) = await world.AwsAsync("lambda", "list-versions-by-function", "--function-name", "del");
        var (invokeExit, _, invokeErr) = await world.AwsAsync("lambda", "get-function", "--function-name", "del", "--qualifier", "2");

        Assert.NotEqual(0, latestExit);
        AssertError(latestErr, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.");
        Assert.NotEqual(0, aliasExit);
        AssertError(aliasErr, "InvalidParameterValueException", "Deletion of aliases is not currently supported.");
        Assert.NotEqual(0, primaryExit);
        AssertError(primaryErr, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [live]");
        Assert.NotEqual(0, weightedExit); // the additional version of a weighted alias counts too
        Assert.Contains("following aliases reference it: [live]", weightedErr, StringComparison.Ordinal);
        Assert.NotEqual(0, conflictExit);
        Assert.Contains("The derived qualifier from the function name does not match the specified qualifier.", conflictErr, StringComparison.Ordinal);
        Assert.NotEqual(0, ghostExit);
        AssertError(ghostErr, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nobody:1");
        Assert.True(absentExit == 0, absentErr); // Lambda answers 204 for a number that is no version
        Assert.True(deleteExit == 0, deleteErr);
        Assert.Equal(0, listExit);
        Assert.Equal(["$LATEST", "1", "3"], JsonNode.Parse(listOut)!["Versions"]!.AsArray().Select(v => (string)v!["Version"]!));
        Assert.NotEqual(0, invokeExit);
        Assert.Contains("Function not found: arn:aws:lambda:us-east-1:000000000000:function:del:2", invokeErr, StringComparison.Ordinal);

        var (nextExit, nextOut, nextErr) = await world.AwsAsync("lambda", "publish-version", "--function-name", "del");
        Assert.True(nextExit == 0, nextErr);
        Assert.Equal("4", (string?)JsonNode.Parse(nextOut)!["Version"]); // numbers are never reused
    }

    /// <summary>The CLI's line for a DeleteFunction error: "An error occurred (Type) when calling the DeleteFunction operation…: message".</summary>
    private static void AssertError(string stderr, string type, string message)
    {
        Assert.True(stderr.Contains($"({type}) when calling the DeleteFunction operation", StringComparison.Ordinal), stderr);
        Assert.True(stderr.TrimEnd().EndsWith(": " + message, StringComparison.Ordinal), stderr);
    }
}
