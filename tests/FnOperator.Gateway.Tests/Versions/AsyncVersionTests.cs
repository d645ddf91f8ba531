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

    [Fact]
    public async Task Async_invocations_of_a_weighted_alias_keep_the_version_drawn_first_through_every_retry()
    {
        await using var gateway = await TestGateway.StartAsync();
        var spec = new FunctionSpec
        {
            Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3,
            Async = new AsyncSpec { MaximumRetryAttempts = 2, Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "weighted-failures" } } },
        };
        var key = gateway.Add("weighted", spec);
        gateway.Functions.PublishVersion(key, "1", spec);
        gateway.Functions.PublishVersion(key, "2", spec);
        gateway.Functions.SetAlias(key, "live", new FnOperator.Gateway.Functions.AliasRoute("1", "2", 0.5));
        await using var v1 = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, "version 1 fails"), concurrency: 4, version: "1");
        await using var v2 = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, "version 2 fails"), concurrency: 4, version: "2");

        const int events = 8; // were each retry drawn again, all three attempts of one event would agree with probability 1/4
        for (var i = 0; i < events; i++)
        {
            using var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("weighted", type: "Event", qualifier: "live"));
            Assert.Equal(202, (int)accepted.StatusCode);
        }

        for (var i = 0; i < events; i++)
        {
            var record = await gateway.WaitForMessageAsync("weighted-failures");
            var requestId = (string)record["requestContext"]!["requestId"]!;
            var version = (string)record["responseContext"]!["executedVersion"]!;
            Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:weighted:{version}", (string?)record["requestContext"]!["functionArn"]);
            var ran = v1.Received.Concat(v2.Received).Where(a => a.RequestId == requestId).OrderBy(a => a.Attempt).ToList();
            Assert.Equal([1, 2, 3], ran.Select(a => a.Attempt));
            Assert.All(ran, a => Assert.Equal(version, a.Version));
            Assert.Equal(version == "1" ? 3 : 0, v1.Received.Count(a => a.RequestId == requestId));
        }
    }

    [Fact]
    public async Task Async_retries_and_destinations_of_a_published_version_come_from_its_snapshot_not_from_latest()
    {
        await using var gateway = await TestGateway.StartAsync();
        var frozen = new FunctionSpec
        {
            Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3,
            Async = new AsyncSpec
            {
                MaximumRetryAttempts = 0,
                Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "v1-failures" }, OnSuccess = new Destination { Queue = "v1-successes" } },
            },
        };
        var latest = new FunctionSpec
        {
            Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3,
            Async = new AsyncSpec { MaximumRetryAttempts = 2, Destinations = new DestinationConfig { OnFailure = new Destination { Queue = "latest-failures" } } },
        };
        var key = gateway.Add("snap", latest);
        gateway.Functions.PublishVersion(key, "1", frozen);
        var fail = true;
        await using var v1 = new TestWorker(gateway.BaseAddress, key, inv => Volatile.Read(ref fail) ? TestWorker.Fail(inv, "version 1 fails") : TestWorker.Ok(inv, "\"ok\""), version: "1");
        await using var head = new TestWorker(gateway.BaseAddress, key, inv => TestWorker.Fail(inv, "$LATEST fails"));

        using (var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("snap", type: "Event", qualifier: "1")))
        {
            Assert.Equal(202, (int)accepted.StatusCode);
        }

        var failure = await gateway.WaitForMessageAsync("v1-failures"); // version 1's destination, after its one attempt
        Assert.Equal(1, (int)failure["requestContext"]!["approximateInvokeCount"]!);
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:snap:1", (string?)failure["requestContext"]!["functionArn"]);
        Assert.Equal([1], v1.Received.Select(i => i.Attempt));

        Volatile.Write(ref fail, false);
        using (var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("snap", type: "Event", qualifier: "1")))
        {
            Assert.Equal(202, (int)accepted.StatusCode);
        }

        var success = await gateway.WaitForMessageAsync("v1-successes"); // $LATEST has no OnSuccess destination
        Assert.Equal("1", (string?)success["responseContext"]!["executedVersion"]);

        using (var accepted = await gateway.Client.SendAsync(TestGateway.Invoke("snap", type: "Event")))
        {
            Assert.Equal(202, (int)accepted.StatusCode);
        }

        var latestFailure = await gateway.WaitForMessageAsync("latest-failures"); // $LATEST keeps its own: two retries
        Assert.Equal(3, (int)latestFailure["requestContext"]!["approximateInvokeCount"]!);
    }
}
