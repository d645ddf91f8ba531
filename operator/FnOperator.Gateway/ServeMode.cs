using FnOperator.Gateway.Functions;
using FnOperator.Kubernetes;
using k8s;

namespace FnOperator.Gateway;

/// <summary>Cluster mode: the gateway serving the Functions it watches in the cluster.</summary>
public static class ServeMode
{
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var values = Cli.ParseOptions(args, "listen", "metrics-listen", "namespace", "region", "auth", "access-key-namespace", "anonymous-namespaces");
        var options = new GatewayOptions
        {
            Listen = [values.GetValueOrDefault("listen", "0.0.0.0:8080")],
            MetricsListen = values.GetValueOrDefault("metrics-listen", "0.0.0.0:9090"),
            Region = values.GetValueOrDefault("region") ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? FunctionRegistry.DefaultRegion,
            Auth = Auth.AuthOptions.ForServe(values),
            InlineIo = InlineIo.Enabled, // off unless FNOP_INLINE_IO=1
        };
        options = GatewayEnvironment.Apply(options, Environment.GetEnvironmentVariables(), out var environmentErrors);
        var errors = environmentErrors.Concat(options.Validate()).ToList();
        if (errors.Count > 0)
        {
            throw new UsageException(string.Join("; ", errors));
        }

        KubernetesClientConfiguration cluster;
        try
        {
            cluster = KubernetesConfig.Load(); // in-cluster, else $KUBECONFIG, else ~/.kube/config: as the operator
        }
        catch (StartupException ex)
        {
            await Console.Error.WriteLineAsync($"serve: no cluster to watch Functions in: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        using var client = new k8s.Kubernetes(cluster);
        var app = GatewayApp.Build(options, builder =>
        {
            builder.Services.AddSingleton<IKubernetes>(client);
            Cluster.FunctionFeed.Register(builder, values.GetValueOrDefault("namespace"));
            Cluster.VersionFeed.Register(builder.Services);
            Cluster.ClusterVersionWriter.Register(builder.Services);
        });
        await app.RunAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
