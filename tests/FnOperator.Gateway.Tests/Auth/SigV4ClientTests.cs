using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Gateway.Tests.Support;
using k8s;

namespace FnOperator.Gateway.Tests.Auth;

/// <summary>
/// The real AWS CLI v2 and the AWS SDK for JavaScript v3 signing with access keys from Secrets in the API test server,
/// against a gateway in required mode (keys → user → SubjectAccessReview from RBAC).
/// </summary>
public sealed class SigV4ClientTests
{
    private const string KeyId = "AKIAFNOPEXAMPLE00001";
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFNOPEXAMPLE";

    [Fact]
    public async Task Aws_cli_signing_with_a_secret_key_invokes_and_wrong_secret_unknown_key_missing_grant_and_rotation_behave_as_aws()
    {
        await using var cluster = await AuthCluster.StartAsync();
        var key = cluster.Add("team", "echo");
        cluster.Add("other", "echo");
        await cluster.AddKeyAsync("alice-key", KeyId, Secret, "alice", groups: "fn-callers");
        await cluster.GrantAsync("team", AuthCluster.User("alice"));
        await using var worker = new TestWorker(cluster.BaseAddress, key, TestWorker.Echo);

        var ok = await AuthClients.CliInvokeAsync(cluster.BaseAddress, KeyId, Secret, "team/echo", """{"via":"cli"}""");
        var wrongSecret = await AuthClients.CliInvokeAsync(cluster.BaseAddress, KeyId, Secret + "x", "team/echo", "{}");
        var unknown = await AuthClients.CliInvokeAsync(cluster.BaseAddress, "AKIAFNOPUNKNOWN00000", Secret, "team/echo", "{}");
        var denied = await AuthClients.CliInvokeAsync(cluster.BaseAddress, KeyId, Secret, "other.echo", "{}");

        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal(200, (int)JsonNode.Parse(ok.Stdout)!["StatusCode"]!);
        Assert.Equal("""{"via":"cli"}""", ok.Body);
        Assert.NotEqual(0, wrongSecret.ExitCode);
        AssertCliError(wrongSecret, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        AssertCliError(unknown, "UnrecognizedClientException", "The security token included in the request is invalid.");
        AssertCliError(denied, "AccessDeniedException", "User: alice is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:other.echo because no RBAC rule allows verb invoke on functions.fnoperator.io in namespace other");

        // Rotation: a new key works as soon as its Secret exists; the old one stops once its Secret is deleted.
        await cluster.AddKeyAsync("alice-key-2", "AKIAFNOPEXAMPLE00002", Secret + "2", "alice");
        var rotated = await AuthClients.CliInvokeAsync(cluster.BaseAddress, "AKIAFNOPEXAMPLE00002", Secret + "2", "team/echo", """{"key":2}""");
        await cluster.Client.CoreV1.DeleteNamespacedSecretAsync("alice-key", AuthCluster.KeyNamespace);
        // The old key works until the next list of key Secrets (KeyRefreshInterval); poll instead of sleeping past it.
        var retired = await AuthClients.CliInvokeAsync(cluster.BaseAddress, KeyId, Secret, "team/echo", "{}");
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60); retired.ExitCode == 0 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(AuthCluster.Required.KeyRefreshInterval);
            retired = await AuthClients.CliInvokeAsync(cluster.BaseAddress, KeyId, Secret, "team/echo", "{}");
        }

        Assert.True(rotated.ExitCode == 0, rotated.Stderr);
        Assert.Equal("""{"key":2}""", rotated.Body);
        AssertCliError(retired, "UnrecognizedClientException", "The security token included in the request is invalid.");
    }

    /// <summary>The CLI prints "An error occurred (Type) when calling the Invoke operation[ (reached max retries: 0)]: message".</summary>
    private static void AssertCliError(AuthClients.CliResult result, string errorType, string message)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"An error occurred ({errorType}) when calling the Invoke operation", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"): {message}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aws_sdk_for_javascript_signing_with_a_secret_key_invokes_and_skew_tampering_and_presigned_urls_behave_as_aws()
    {
        await using var cluster = await AuthCluster.StartAsync();
        var key = cluster.Add("team", "echo");
        await cluster.AddKeyAsync("sdk-key", KeyId, Secret, "system:serviceaccount:team:sdk-caller");
        await cluster.GrantAsync("team", AuthCluster.ServiceAccount("team", "sdk-caller"));
        // A key whose user has no grant of its own but one of its groups (fnoperator.io/groups) has.
        await cluster.AddKeyAsync("bob-key", "AKIAFNOPEXAMPLE00003", Secret + "3", "bob", groups: "team-a-devs,fn-callers");
        await cluster.GrantAsync("team", AuthCluster.Group("fn-callers"), bindingName: "callers");
        await using var worker = new TestWorker(cluster.BaseAddress, key, TestWorker.Echo);
        JsonObject Call(string name, JsonObject? extra = null)
        {
            var call = new JsonObject { ["name"] = name, ["accessKeyId"] = KeyId, ["secretAccessKey"] = Secret, ["functionName"] = "team/echo", ["payload"] = """{"via":"sdk"}""" };
            foreach (var (k, v) in extra ?? [])
            {
                call[k] = v?.DeepClone();
            }

            return call;
        }

        var results = await AuthClients.SdkAsync(cluster.BaseAddress,
            [
                Call("ok"),
                Call("via-group", new JsonObject { ["accessKeyId"] = "AKIAFNOPEXAMPLE00003", ["secretAccessKey"] = Secret + "3", ["payload"] = """{"via":"group"}""" }),
                Call("wrong-secret", new JsonObject { ["secretAccessKey"] = "not-the-secret" }),
                Call("unknown-key", new JsonObject { ["accessKeyId"] = "AKIAFNOPUNKNOWN00000" }),
                Call("skewed", new JsonObject { ["clockOffsetMs"] = -20 * 60 * 1000 }),
                Call("tampered-body", new JsonObject { ["tamper"] = "body" }),
                Call("tampered-header", new JsonObject { ["tamper"] = "header", ["invocationType"] = "RequestResponse" }),
            ],
            [
                new JsonObject { ["name"] = "presigned", ["accessKeyId"] = KeyId, ["secretAccessKey"] = Secret, ["functionName"] = "team/echo", ["payload"] = """{"via":"presigned"}""", ["expiresIn"] = 300 },
            ]);

        Assert.Equal(200, (int)results["ok"]["statusCode"]!);
        Assert.Equal("""{"via":"sdk"}""", (string?)results["ok"]["payload"]);
        Assert.True((int?)results["via-group"]["statusCode"] == 200, results["via-group"].ToJsonString());
        Assert.Equal("""{"via":"group"}""", (string?)results["via-group"]["payload"]);
        AssertSdkError(results["wrong-secret"], "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        AssertSdkError(results["unknown-key"], "UnrecognizedClientException", "The security token included in the request is invalid.");
        AssertSdkError(results["skewed"], "InvalidSignatureException", "Signature expired: ");
        Assert.EndsWith(" - 15 min.)", (string?)results["skewed"]["message"], StringComparison.Ordinal);
        AssertSdkError(results["tampered-body"], "InvalidSignatureException", "The request signature we calculated does not match");
        AssertSdkError(results["tampered-header"], "InvalidSignatureException", "The request signature we calculated does not match");
        Assert.Equal(2, worker.Received.Count);

        var url = (string)results["presigned"]["url"]!;
        using var http = new HttpClient();
        using var presigned = await http.PostAsync(url, new StringContent("""{"via":"presigned"}""", Encoding.UTF8));
        using var otherFunction = await http.PostAsync(url.Replace("team%252Fecho", "team%252Fother", StringComparison.Ordinal).Replace("team%2Fecho", "team%2Fother", StringComparison.Ordinal), new StringContent("{}"));
        using var tamperedQuery = await http.PostAsync(url + "&Qualifier=%24LATEST", new StringContent("""{"via":"presigned"}"""));
        using var otherBody = await http.PostAsync(url, new StringContent("""{"via":"someone else"}"""));

        Assert.True(presigned.StatusCode == HttpStatusCode.OK, $"{url}\n{await presigned.Content.ReadAsStringAsync()}");
        Assert.Equal("""{"via":"presigned"}""", await presigned.Content.ReadAsStringAsync());
        await InvokeAuthorizationTests.AssertErrorAsync(otherFunction, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        await InvokeAuthorizationTests.AssertErrorAsync(tamperedQuery, "InvalidSignatureException", null);
        await InvokeAuthorizationTests.AssertErrorAsync(otherBody, "InvalidSignatureException", null);
        var metrics = await cluster.Http.GetStringAsync("/metrics");
        Assert.Contains("fnoperator_gateway_auth_requests_total{method=\"sigv4\",result=\"allowed\",error_type=\"\"} 3", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, metrics, StringComparison.Ordinal);
    }

    private static void AssertSdkError(JsonObject result, string error, string messageStart)
    {
        Assert.True((string?)result["error"] == error, result.ToJsonString());
        Assert.Equal(403, (int)result["httpStatus"]!);
        Assert.StartsWith(messageStart, (string?)result["message"], StringComparison.Ordinal);
    }
}
