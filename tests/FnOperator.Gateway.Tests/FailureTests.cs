using System.Net;
using FnOperator.Contracts;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Queue;
using FnOperator.Gateway.Tests.Support;
using Moq;

namespace FnOperator.Gateway.Tests;

public sealed class FailureTests
{
    [Fact]
    public async Task Queue_failure_answers_500_service_exception_without_202_and_the_gateway_keeps_serving()
    {
        var queue = new Mock<IInvocationQueue>();
        queue.Setup(q => q.EnqueueAsync(It.IsAny<Invocation>(), It.IsAny<EnqueueOptions>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new IOException("disk full"));
        queue.Setup(q => q.GetStats(It.IsAny<FunctionKey>())).Returns(new QueueStats(0, 0, 0));
        var app = GatewayApp.Build(TestGateway.FastOptions, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Critical);
            builder.Services.AddSingleton(queue.Object);
        });
        await app.StartAsync();
        try
        {
            app.Services.GetRequiredService<FunctionRegistry>().Upsert(new FunctionKey("default", "f"), new FnOperator.Api.FunctionSpec());
            using var http = new HttpClient { BaseAddress = GatewayApp.Addresses(app)[0] };

            using var failed = await http.SendAsync(TestGateway.Invoke("f", "{}", "Event"));
            using var healthy = await http.GetAsync("/healthz");

            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
            Assert.Equal("ServiceException", failed.Headers.GetValues("x-amzn-ErrorType").Single());
            Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
