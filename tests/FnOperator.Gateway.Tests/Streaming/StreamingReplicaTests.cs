using System.Net;
using System.Net.Sockets;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Streaming;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests.Streaming;

/// <summary>
/// Two gateway replicas sharing a JetStream queue (a real nats-server): the caller on one, the worker pulling from the
/// other. With FNOP_GATEWAY_STREAM_URL (StreamingOptions) the stream goes straight to the caller's replica; without it
/// the other replica has no caller for it (404, the shim's cue to answer buffered).
/// </summary>
public sealed class StreamingReplicaTests
{
    private static async Task<(WebApplication App, Uri Address)> ReplicaAsync(Queue.JetStream.JetStreamOptions queue, bool advertise)
    {
        // The replica advertises its own address, so the port is chosen before it listens; a port that a parallel test
        // took in between is not an error of the code under test: try another one.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryReplicaAsync(queue, advertise);
            }
            catch (IOException) when (attempt < 3)
            {
            }
        }
    }

    private static async Task<(WebApplication App, Uri Address)> TryReplicaAsync(Queue.JetStream.JetStreamOptions queue, bool advertise)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}/");
        var options = TestGateway.FastOptions with { ClusterKey = TestGateway.ClusterKey, JetStream = queue, Listen = [$"127.0.0.1:{port}"] };
        var app = GatewayApp.Build(options, b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            b.Services.AddSingleton(new StreamingOptions(advertise ? address.ToString() : null));
        });
        try
        {
            await app.StartAsync();
        }
        catch (IOException)
        {
            await app.DisposeAsync();
            throw;
        }

        app.Services.GetRequiredService<FunctionRegistry>().Upsert(new FunctionKey("default", "replicated"),
            new FnOperator.Api.FunctionSpec { Runtime = "nodejs22.x", Handler = "index.handler", TimeoutSeconds = 3 });
        return (app, address);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static HttpRequestMessage StreamRequest() =>
        new(HttpMethod.Post, "/2021-11-15/functions/replicated/response-streaming-invocations") { Content = new StringContent("{}") };

    [Fact]
    public async Task A_stream_reaches_the_callers_replica_when_the_worker_pulls_from_another()
    {
        var queue = (await NatsServer.Shared).Options();
        var (a, aAddress) = await ReplicaAsync(queue, advertise: true);
        var (b, bAddress) = await ReplicaAsync(queue, advertise: true);
        try
        {
            using var caller = new HttpClient { BaseAddress = aAddress, Timeout = TimeSpan.FromMinutes(2) };
            using var worker = new StreamingWorker(bAddress, new FunctionKey("default", "replicated"));

            var call = caller.SendAsync(StreamRequest(), HttpCompletionOption.ResponseHeadersRead);
            var invocation = await worker.NextAsync();
            Assert.Equal(aAddress.ToString(), invocation.StreamTo);
            var stream = worker.Stream(invocation, "text/plain");
            await stream.WriteAsync("across;");
            using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
            var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("across;", (await events.NextAsync())!.Text);
            await stream.WriteAsync("replicas;");
            Assert.Equal("replicas;", (await events.NextAsync())!.Text);
            Assert.Equal(HttpStatusCode.Accepted, await stream.EndAsync());
            Assert.Equal(HttpStatusCode.Accepted, await worker.CompleteAsync(invocation, StreamingWorker.Streamed(invocation)));

            Assert.Equal("InvokeComplete", (await events.NextAsync())!.EventType);
            Assert.Null(await events.NextAsync());
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_an_advertised_address_the_other_replica_refuses_the_stream_and_the_result_arrives_in_one_chunk()
    {
        var queue = (await NatsServer.Shared).Options();
        var (a, aAddress) = await ReplicaAsync(queue, advertise: false);
        var (b, bAddress) = await ReplicaAsync(queue, advertise: false);
        try
        {
            using var caller = new HttpClient { BaseAddress = aAddress, Timeout = TimeSpan.FromMinutes(2) };
            using var worker = new StreamingWorker(bAddress, new FunctionKey("default", "replicated"));

            var call = caller.SendAsync(StreamRequest());
            var invocation = await worker.NextAsync();
            Assert.Null(invocation.StreamTo);
            Assert.Equal(HttpStatusCode.NotFound, await worker.Stream(invocation).RefusedAsync());
            await worker.CompleteAsync(invocation, TestWorker.Ok(invocation, "whole body"));
            using var response = await call.WaitAsync(TimeSpan.FromSeconds(60));
            var events = new EventStreamReader(await response.Content.ReadAsStreamAsync());

            Assert.Equal("whole body", (await events.NextAsync())!.Text);
            Assert.Equal("InvokeComplete", (await events.NextAsync())!.EventType);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }
}

public sealed class StreamingOptionsTests
{
    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://10.0.0.1/")]
    [InlineData("/relative")]
    public void A_stream_url_that_is_not_an_absolute_http_url_is_refused_with_its_name(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => StreamingOptions.Parse(value));

        Assert.Contains(StreamingOptions.AdvertisedUrlEnv, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(" ", null)]
    [InlineData("http://10.1.2.3:8080", "http://10.1.2.3:8080/")]
    public void An_unset_stream_url_means_the_gateway_pulled_from(string? value, string? advertised)
    {
        Assert.Equal(advertised, StreamingOptions.Parse(value).AdvertisedUrl);
    }
}
