namespace FnOperator.Gateway.Tests.Versions;

/// <summary>
/// Lambda API calls the gateway does not serve, made with the real AWS CLI v2: each answers Lambda's error shape
/// (501 NotImplementedException) with a message that names the operation, says FnOperator does not implement it and
/// what to use instead — never an empty message.
/// </summary>
public sealed class UnservedCallsTests
{
    public static TheoryData<string, string, string[]> Calls => new()
    {
        // CLI operation name, what the message names, the CLI arguments after "lambda"
        { "CreateFunction", "kubectl apply", ["create-function", "--function-name", "new-fn", "--runtime", "nodejs22.x", "--handler", "index.handler",
            "--role", "arn:aws:iam::000000000000:role/r", "--code", "S3Bucket=bkt,S3Key=k.zip"] },
        { "UpdateFunctionCode", "spec.code", ["update-function-code", "--function-name", "unserved", "--s3-bucket", "bkt", "--s3-key", "k.zip"] },
        { "UpdateFunctionConfiguration", "spec", ["update-function-configuration", "--function-name", "unserved", "--memory-size", "256"] },
        { "DeleteFunction", "kubectl delete function", ["delete-function", "--function-name", "unserved"] },
        { "GetPolicy", "RBAC", ["get-policy", "--function-name", "unserved"] },
        { "AddPermission", "RBAC", ["add-permission", "--function-name", "unserved", "--statement-id", "s", "--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com"] },
        { "ListLayers", "Layer manifest", ["list-layers"] },
        { "PublishLayerVersion", "Layer manifest", ["publish-layer-version", "--layer-name", "lib", "--content", "S3Bucket=bkt,S3Key=k.zip"] },
        { "PutFunctionConcurrency", "spec.concurrency.reserved", ["put-function-concurrency", "--function-name", "unserved", "--reserved-concurrent-executions", "5"] },
        { "PutProvisionedConcurrencyConfig", "spec.concurrency.provisioned", ["put-provisioned-concurrency-config", "--function-name", "unserved", "--qualifier", "1",
            "--provisioned-concurrent-executions", "1"] },
        { "PutFunctionEventInvokeConfig", "spec.async", ["put-function-event-invoke-config", "--function-name", "unserved", "--maximum-retry-attempts", "1"] },
        { "ListTags", "kubectl label", ["list-tags", "--resource", "arn:aws:lambda:us-east-1:000000000000:function:unserved"] },
        { "GetAccountSettings", "Kubernetes manifests", ["get-account-settings"] },
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public async Task An_unserved_call_answers_not_implemented_with_what_to_use_instead(string operation, string instead, string[] args)
    {
        await using var world = await VersionWorkers.StartAsync("unserved");

        var (exit, _, stderr) = await world.AwsAsync(["lambda", .. args]);

        Assert.NotEqual(0, exit);
        var prefix = $"An error occurred (NotImplementedException) when calling the {operation} operation";
        var line = stderr.Split('\n').SingleOrDefault(l => l.Contains(prefix, StringComparison.Ordinal));
        Assert.True(line is not null, stderr);
        var rest = line[(line.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length)..]; // "[ (reached max retries: 0)]: message"
        var message = rest[(rest.IndexOf("): ", StringComparison.Ordinal) is >= 0 and var i ? i + 3 : rest.IndexOf(": ", StringComparison.Ordinal) + 2)..].Trim();
        Assert.StartsWith("FnOperator does not implement", message, StringComparison.Ordinal);
        Assert.Contains(instead, message, StringComparison.Ordinal);
        Assert.True(world.Gateway.Functions.Contains(world.Key)); // nothing was changed
    }
}
