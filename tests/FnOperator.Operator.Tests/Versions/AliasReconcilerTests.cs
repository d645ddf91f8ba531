using FnOperator.Operator.Controllers;
using FnOperator.Operator.Tests.Controllers;
using k8s.Models;

namespace FnOperator.Operator.Tests.Versions;

/// <summary>The Alias reconciler against the API test server: conditions for each bad reference, resolved versions, Events.</summary>
public sealed class AliasReconcilerTests : IAsyncLifetime
{
    private OperatorHarness harness = null!;

    public async Task InitializeAsync() => harness = await OperatorHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    [Fact]
    public async Task Alias_resolves_weights_and_reports_its_arn()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("shop"));
        await harness.WaitVersionsAsync("shop", 1);
        await harness.UpdateAsync("shop", s => s.MemoryMiB = 256);
        await harness.WaitVersionsAsync("shop", 1, 2);

        await harness.CreateAliasAsync("live", "shop", "1", new Dictionary<string, double> { ["2"] = 0.1 });

        await harness.WaitAliasAsync("live", "True", AliasReasons.VersionsResolved);
        var alias = (await harness.GetAliasAsync("live"))!;
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:shop:live", alias.Status!.AliasArn);
        Assert.Equal([("1", 0.9), ("2", 0.1)], alias.Status.ResolvedVersions!.Select(v => (v.Version, Math.Round(v.Weight, 6))));
        Assert.Equal(1, alias.Status.ObservedGeneration);
        await harness.WaitEventAsync("live", "Normal", AliasReasons.VersionsResolved);
    }

    [Fact]
    public async Task Alias_of_a_missing_function_is_not_ready_until_the_function_exists()
    {
        await harness.CreateAliasAsync("early", "later", "$LATEST");
        await harness.WaitAliasAsync("early", "False", AliasReasons.FunctionNotFound);
        await harness.WaitEventAsync("early", "Warning", AliasReasons.FunctionNotFound);

        await harness.CreateAsync(TestFunctions.Node("later"));

        await harness.WaitAliasAsync("early", "True", AliasReasons.VersionsResolved);
        Assert.Equal([("$LATEST", 1.0)], (await harness.GetAliasAsync("early"))!.Status!.ResolvedVersions!.Select(v => (v.Version, v.Weight)));
    }

    [Fact]
    public async Task Alias_of_an_unpublished_version_becomes_ready_when_the_function_publishes_it()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("grow"));
        await harness.WaitVersionsAsync("grow", 1);
        await harness.CreateAliasAsync("next", "grow", "2");

        await harness.WaitAliasAsync("next", "False", AliasReasons.VersionNotFound);
        Assert.Contains("no version 2", (await harness.GetAliasAsync("next"))!.Status!.Conditions!.Single(c => c.Type == "Ready").Message, StringComparison.Ordinal);

        await harness.UpdateAsync("grow", s => s.MemoryMiB = 256);

        await harness.WaitAliasAsync("next", "True", AliasReasons.VersionsResolved);
    }

    [Fact]
    public async Task Alias_reports_FunctionNotFound_when_its_function_is_deleted_after_a_version_was_missing()
    {
        // Only Ready's reason changes here (no generation, arn or resolved versions change): the status must still be written.
        await harness.CreateAsync(TestFunctions.Node("short-lived"));
        await harness.WaitReadyAsync("short-lived");
        await harness.CreateAliasAsync("dangling", "short-lived", "3");
        await harness.WaitAliasAsync("dangling", "False", AliasReasons.VersionNotFound);

        await harness.DeleteAsync("short-lived");

        await harness.WaitAliasAsync("dangling", "False", AliasReasons.FunctionNotFound);
    }

    [Fact]
    public async Task Alias_with_a_missing_additional_version_is_not_ready()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("half"));
        await harness.WaitVersionsAsync("half", 1);

        await harness.CreateAliasAsync("split", "half", "1", new Dictionary<string, double> { ["7"] = 0.5 });

        await harness.WaitAliasAsync("split", "False", AliasReasons.VersionNotFound);
    }

    public static TheoryData<string, string, double, string> InvalidRoutings => new()
    {
        { "1", "1", 0.5, "already included in routing configuration" },
        { "1", "2", 1.0, "less than 1.0" },
    };

    [Theory]
    [MemberData(nameof(InvalidRoutings))]
    public void Routing_rules_follow_lambda(string primary, string extra, double weight, string message)
    {
        var spec = new FnOperator.Api.AliasSpec
        {
            FunctionName = "f", FunctionVersion = primary,
            RoutingConfig = new FnOperator.Api.AliasRoutingConfig { AdditionalVersionWeights = new() { [extra] = weight } },
        };
        Assert.Contains(message, AliasReconciler.RoutingError(spec), StringComparison.Ordinal);
    }

    [Fact]
    public void Routing_rules_reject_latest_with_weights_and_two_extra_versions()
    {
        Assert.Equal("$LATEST is not supported for an alias pointing to more than 1 version", AliasReconciler.RoutingError(new()
        {
            FunctionName = "f", FunctionVersion = "$LATEST", RoutingConfig = new() { AdditionalVersionWeights = new() { ["2"] = 0.1 } },
        }));
        Assert.Equal("Number of items in AdditionalVersionWeights cannot be greater than 1", AliasReconciler.RoutingError(new()
        {
            FunctionName = "f", FunctionVersion = "1", RoutingConfig = new() { AdditionalVersionWeights = new() { ["2"] = 0.1, ["3"] = 0.1 } },
        }));
        Assert.Null(AliasReconciler.RoutingError(new() { FunctionName = "f", FunctionVersion = "1", RoutingConfig = new() { AdditionalVersionWeights = new() { ["2"] = 0.999 } } }));
    }

    [Fact]
    public async Task Alias_with_weight_one_is_terminally_invalid()
    {
        await harness.CreateAsync(VersionHarness.AutoPublished("heavy"));
        await harness.WaitVersionsAsync("heavy", 1);
        await harness.UpdateAsync("heavy", s => s.MemoryMiB = 256);
        await harness.WaitVersionsAsync("heavy", 1, 2);

        await harness.CreateAliasAsync("all", "heavy", "1", new Dictionary<string, double> { ["2"] = 1.0 });

        await harness.WaitAliasAsync("all", "False", AliasReasons.InvalidWeights);
        await harness.WaitEventAsync("all", "Warning", AliasReasons.InvalidWeights);
    }
}
