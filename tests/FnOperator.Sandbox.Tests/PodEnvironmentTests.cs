using System.Text.Json;
using FnOperator.Api;
using FnOperator.Operator;
using FnOperator.Operator.Resources;
using FnOperator.RuntimeShim;
using k8s.Models;

namespace FnOperator.Sandbox.Tests;

/// <summary>
/// The clean environment in a pod: the runtime container the operator builds, its variables as the kubelet resolves
/// them plus what the kubelet adds to every container, under a real runtime-shim: the runtime sees the function's own
/// variables and Lambda's, none of the container's others.
/// </summary>
public sealed class PodEnvironmentTests
{
    private static Function Fn() => new()
    {
        Metadata = new V1ObjectMeta { Name = "greeter", NamespaceProperty = "team-a", Uid = "uid-1" },
        Spec = new FunctionSpec
        {
            Runtime = "nodejs22.x",
            Handler = "index.handler",
            MemoryMiB = 256,
            TimeoutSeconds = 30,
            Code = new FunctionCode { Url = "https://code.example/x.zip", Sha256 = new string('a', 64) },
            Environment =
            [
                new EnvironmentVariable { Name = "GREETING", Value = "hi" },
                new EnvironmentVariable { Name = "DB_PASSWORD", SecretKeyRef = new KeyReference { Name = "db", Key = "password" } },
            ],
        },
    };

    [Fact]
    public async Task Pod_runtime_sees_the_functions_own_variables_and_none_of_the_containers_others()
    {
        var container = EnvironmentBuilder.Build(FunctionVersion.Latest(Fn()), new OperatorOptions());
        var functionEnv = container.Single(e => e.Name == RuntimeLaunch.FunctionEnvVariable).Value;
        // What the kubelet adds to every container (service links, the pod's host name, HOME) and a variable of the image.
        var podOnly = new Dictionary<string, string>
        {
            ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1",
            ["KUBERNETES_SERVICE_PORT"] = "443",
            ["KUBERNETES_PORT_443_TCP"] = "tcp://10.96.0.1:443",
            ["FN_GATEWAY_SERVICE_HOST"] = "10.96.0.20",
            ["HOSTNAME"] = "greeter-7d9f-abcde",
            ["HOME"] = "/root",
            ["IMAGE_BUILD_SECRET"] = "do-not-leak",
        };
        var extra = new Dictionary<string, string>(podOnly)
        {
            [RuntimeLaunch.FunctionEnvVariable] = functionEnv,
            ["GREETING"] = container.Single(e => e.Name == "GREETING").Value,
            ["DB_PASSWORD"] = "s3cret", // the kubelet's value of the secretKeyRef
        };
        await using var fn = await SandboxedShim.StartAsync(extra: extra);

        var result = await fn.InvokeAsync(new { action = "env" });

        Assert.Equal("GREETING,DB_PASSWORD", functionEnv);
        Assert.Null(container.Single(e => e.Name == "DB_PASSWORD").Value);
        var env = JsonDocument.Parse(result.Payload).RootElement.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal("hi", env["GREETING"]);
        Assert.Equal("s3cret", env["DB_PASSWORD"]);
        Assert.Empty(podOnly.Keys.Intersect(env.Keys));
        Assert.DoesNotContain(env.Keys, k => k.StartsWith("FNOP_", StringComparison.Ordinal));
        var unexpected = env.Keys.Where(k => !ShimSandboxTests.Documented.Contains(k) && k is not ("GREETING" or "DB_PASSWORD")).ToList();
        Assert.True(unexpected.Count == 0, "container variables reached the runtime: " + string.Join(", ", unexpected));
    }
}
