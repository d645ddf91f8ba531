using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>
/// Local mode serves dotnet8/dotnet10 class-library functions (Assembly::Namespace.Type::Method) through the runtime-shim's
/// own managed .NET runtime: the built code of tests/FnOperator.DotnetFunctions, invoked over the Lambda Invoke API.
/// </summary>
public sealed class LocalModeDotnetTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempManifests dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public async Task Dotnet_class_library_functions_answer_with_their_context_and_fail_in_lambda_shape()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.DotnetFunctions, "FnOperator.DotnetFunctions.dll")), $"not built: {RepoPaths.DotnetFunctions}");
        var code = dir.Folder("dotnet/publish");
        foreach (var file in Directory.GetFiles(RepoPaths.DotnetFunctions))
        {
            File.Copy(file, Path.Combine(code, Path.GetFileName(file)));
        }

        var suffix = Guid.NewGuid().ToString("N")[..8];
        string context = "dn-context-" + suffix, fails = "dn-fails-" + suffix;
        dir.Write("dotnet/functions.yaml", $"""
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {context}
            spec:
              runtime: dotnet8
              handler: FnOperator.DotnetFunctions::FnOperator.DotnetFunctions.Handlers::Context
              memoryMiB: 384
              code:
                path: publish
            ---
            apiVersion: fnoperator.io/v1alpha1
            kind: Function
            metadata:
              name: {fails}
            spec:
              runtime: dotnet10
              handler: FnOperator.DotnetFunctions::FnOperator.DotnetFunctions.Handlers::Fail
              code:
                path: publish
            """);
        await using var local = await LocalModeProcess.StartAsync(dir.Root);
        using var http = new HttpClient { Timeout = Wait };

        using var ok = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{context}/invocations", new StringContent("{}", Encoding.UTF8, "application/json"));
        var okBody = await ok.Content.ReadAsStringAsync();
        using var failed = await http.PostAsync($"{local.Endpoint}/2015-03-31/functions/{fails}/invocations", new StringContent("""{"id":"x-9"}""", Encoding.UTF8, "application/json"));
        var failedBody = await failed.Content.ReadAsStringAsync();

        Assert.True(ok.StatusCode == HttpStatusCode.OK && !ok.Headers.Contains("X-Amz-Function-Error"), $"{(int)ok.StatusCode} {okBody}\n{local.Output}");
        var info = JsonNode.Parse(okBody)!;
        Assert.Equal(context, (string?)info["FunctionName"]);
        Assert.Equal("$LATEST", (string?)info["FunctionVersion"]);
        Assert.Equal(384, (int)info["MemoryLimitInMB"]!);
        Assert.EndsWith($":function:{context}", (string?)info["InvokedFunctionArn"], StringComparison.Ordinal);
        var requestId = (string)info["AwsRequestId"]!;
        await local.WaitForLineAsync(l => l.StartsWith($"[{context}] ", StringComparison.Ordinal) && l.EndsWith($"\t{requestId}\twarn\tcareful-now", StringComparison.Ordinal), Wait);

        Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        Assert.Equal("Unhandled", failed.Headers.GetValues("X-Amz-Function-Error").Single());
        var error = JsonNode.Parse(failedBody)!;
        Assert.Equal("InvalidOperationException", (string?)error["errorType"]);
        Assert.Equal("cannot take x-9", (string?)error["errorMessage"]);
        Assert.Equal("ArgumentException", (string?)error["cause"]?["errorType"]);
    }
}
