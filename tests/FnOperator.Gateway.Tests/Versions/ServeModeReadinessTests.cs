using FnOperator.Api;
using FnOperator.Gateway.Cluster;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Tests.Support;
using FnOperator.KubeApiServer;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Tests.Versions;

/// <summary>Serve mode reports ready only after the version/alias watch has listed, not as soon as Functions are listed.</summary>
public sealed class ServeModeReadinessTests
{
    [Fact]
    public async Task Serve_mode_is_not_ready_until_aliases_and_versions_are_listed()
    {
        await using var server = await KubeApiTestServer.StartAsync(new KubeApiServerOptions { CrdDirectory = Path.Combine(RepoPaths.Root, "crds") });
        var setup = server.CreateClient();
        await setup.CustomObjects.CreateNamespacedCustomObjectAsync(new Function
        {
            Metadata = new V1ObjectMeta { Name = "gated", NamespaceProperty = "default" },
            Spec = VersionWorkers.Spec(128),
        }, ApiGroup.Group, ApiGroup.Version, "default", Function.Plural);
        await setup.CustomObjects.CreateNamespacedCustomObjectAsync(new Alias
        {
            Metadata = new V1ObjectMeta { Name = "gated-live", NamespaceProperty = "default" },
            Spec = new AliasSpec { Name = "live", FunctionName = "gated", FunctionVersion = "$LATEST" },
        }, ApiGroup.Group, ApiGroup.Version, "default", Alias.Plural);

        // The gateway's client holds the Alias list until the test lets it through.
        var gate = new AliasListGate();
        var client = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = server.BaseUri.ToString() }, gate);
        var gateway = GatewayApp.Build(TestGateway.FastOptions, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton<IKubernetes>(client);
            FunctionFeed.Register(builder, ns: null);
            VersionFeed.Register(builder.Services);
        });
        await gateway.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = GatewayApp.Addresses(gateway)[0], Timeout = TimeSpan.FromSeconds(30) };
            var functions = gateway.Services.GetRequiredService<FunctionRegistry>();
            var key = new FunctionKey("default", "gated");
            await TestWait.UntilAsync(() => functions.Contains(key) && gate.Held > 0, TimeSpan.FromSeconds(60));

            using (var notReady = await http.GetAsync("/readyz"))
            {
                Assert.Equal(503, (int)notReady.StatusCode); // Functions are listed, the Aliases are not yet
            }

            gate.Release();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                using var ready = await http.GetAsync("/readyz");
                if ((int)ready.StatusCode == 200)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, "the gateway did not become ready");
                await Task.Delay(50);
            }

            // Ready means the alias is known: no "Function not found" window.
            Assert.True(functions.TryGetAlias(key, "live", out var route));
            Assert.Equal("$LATEST", route.Version);
        }
        finally
        {
            gate.Release();
            await gateway.StopAsync();
            await gateway.DisposeAsync();
        }
    }

    /// <summary>Holds list requests for Aliases (not watches) until <see cref="Release"/>.</summary>
    private sealed class AliasListGate : DelegatingHandler
    {
        private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int held;

        public int Held => Volatile.Read(ref held);

        public void Release() => released.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (uri.AbsolutePath.EndsWith("/" + Alias.Plural, StringComparison.Ordinal) && !uri.Query.Contains("watch=true", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref held);
                await released.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }
}
