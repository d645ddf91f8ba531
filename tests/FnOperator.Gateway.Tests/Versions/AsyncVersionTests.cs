using FnOperator.Api;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>An async invocation of a qualified function keeps its resolved version through retries and into the destination record.</summary>
public sealed class AsyncVersionTests
{
    [Fact]
    public async Task Async_invocation_of_an_alias_keeps_its_version_through_retries_and_the_failure_record_names_it()
    {
        await using var gateway = await TestGateway.StartAsync();
        var spec = new FunctionSpec
        {
            Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3,
            Async = new AsyncSpec { MaximumRetryAttempts = 2, Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "versions-failures" } } },
        };
        var key = gateway.Add("retried", spec);
        gateway.Functions.PublishVersion(key, "1", spec);
        gateway.Functions.PublishVersion(key, "2", spec);
        gateway.Functions.SetAlias(key, "live", "2");
        await using var v1 = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Ok(inv, "\"1\""), version: "1");
        await using var v2 = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, "version 2 fails"), version: "2");

        using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("retried", type: "Event", qualifier: "live"));
        Assert.Equal(202, (int)accepted.StatusCode);

        var record = await gateway.WaitForMessageAsync("versions-failures");
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:retried:2", (string?)record["requestContext"]!["functionArn"]);
        Assert.Equal("2", (string?)record["responseContext"]!["executedVersion"]);
        Assert.Equal(3, (int)record["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal([1, 2, 3], v2.Received.Select(i => i.Attempt));
        Assert.All(v2.Received, i => Assert.Equal("2", i.Version));
        Assert.Empty(v1.Received);
    }
}
