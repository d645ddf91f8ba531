using System.Net;
using FnOperator.Contracts;
using FnOperator.Gateway.Tests.Support;

namespace FnOperator.Gateway.Tests;

/// <summary>The invoke path the operator writes into status.invokeUrl (<see cref="InvokeApi"/>) is one the gateway serves.</summary>
public sealed class InvokePathContractTests
{
    [Theory]
    [InlineData("hello")]
    [InlineData("default/hello")]
    [InlineData("default.hello")]
    public async Task Gateway_serves_the_shared_invoke_path(string functionName)
    {
        await using var gateway = await TestGateway.StartAsync();
        gateway.Add("hello");
        using var request = new HttpRequestMessage(HttpMethod.Post, InvokeApi.InvokePath(functionName)) { Content = new StringContent("{}") };
        request.Headers.Add("X-Amz-Invocation-Type", "DryRun");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }
}
