using FnOperator.Operator.Hosting;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Tests.Hosting;

/// <summary>Settings as the chart passes them (Operator__X env / --Operator:X), bound and validated at start.</summary>
public sealed class OperatorOptionsTests
{
    private static OperatorOptions Bind(params string[] args)
    {
        var app = OperatorApp.Build(["--urls", "http://127.0.0.1:0", .. TestClusterKey.Settings, .. args], services => services.AddSingleton<IKubernetes>(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" })));
        return app.Services.GetRequiredService<IOptions<OperatorOptions>>().Value;
    }

    [Fact]
    public void Settings_are_bound_and_runtime_images_merge_with_the_defaults()
    {
        var options = Bind(
            "--Operator:GatewayUrl", "http://gw.example:8080",
            "--Operator:Workers", "8",
            "--Operator:RuntimeImages:nodejs22.x", "mirror.example/lambda/nodejs:22",
            "--Operator:RuntimeImages:custom1", "mirror.example/custom:1",
            "--POD_NAME", "operator-7",
            "--POD_NAMESPACE", "fn-ops");

        Assert.Equal("http://gw.example:8080", options.GatewayUrl);
        Assert.Equal(8, options.Workers);
        Assert.Equal("mirror.example/lambda/nodejs:22", options.RuntimeImages["nodejs22.x"]);
        Assert.Equal("mirror.example/custom:1", options.RuntimeImages["custom1"]);
        Assert.Equal("public.ecr.aws/lambda/python:3.12", options.RuntimeImages["python3.12"]);
        Assert.Equal(("operator-7", "fn-ops"), (options.PodName, options.PodNamespace));
    }

    [Fact]
    public void A_configured_shim_install_command_replaces_the_default()
    {
        var options = Bind(
            "--Operator:ShimInstallCommand:0", "/shim/runtime-shim",
            "--Operator:ShimInstallCommand:1", "install",
            "--Operator:ShimInstallCommand:2", "/fnop-bin");

        Assert.Equal(["/shim/runtime-shim", "install", "/fnop-bin"], options.EffectiveShimInstallCommand);
        Assert.Equal(["/fnop/runtime-shim", "install", "/fnop-bin"], Bind().EffectiveShimInstallCommand);
    }

    [Fact]
    public void Invalid_settings_stop_the_operator_before_it_starts_with_every_problem_named()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind(
            "--Operator:GatewayUrl", "not a url",
            "--Operator:Workers", "0",
            "--Operator:RuntimeImages:nodejs22.x", " ",
            "--Operator:ShimInstallCommand:0", ""));

        Assert.Contains(error.Failures, f => f.Contains("Operator:GatewayUrl must be an absolute URL", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Operator:Workers must be between 1 and 256", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Operator:RuntimeImages:nodejs22.x must name an image", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Operator:ShimInstallCommand must not contain empty arguments", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("missing", "cannot be read")]
    [InlineData("empty", "is empty")]
    [InlineData("short", "at least 32")]
    [InlineData("unset", "Operator:ClusterKeyFile is required")]
    public void A_missing_unreadable_empty_or_short_cluster_key_file_stops_the_operator(string kind, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("fnop-key-");
        var path = Path.Combine(dir.FullName, "cluster-key");
        if (kind == "empty")
        {
            File.WriteAllText(path, "\n");
        }
        else if (kind == "short")
        {
            File.WriteAllText(path, "short-key\n");
        }

        var error = Assert.Throws<OptionsValidationException>(() => Bind("--Operator:ClusterKeyFile", kind == "unset" ? "" : path));
        Assert.Contains(error.Failures, f => f.Contains(expected, StringComparison.Ordinal));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void The_cluster_key_is_read_once_at_start_without_its_trailing_newline()
    {
        var app = OperatorApp.Build(["--urls", "http://127.0.0.1:0", .. TestClusterKey.Settings], services => services.AddSingleton<IKubernetes>(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" })));
        Assert.Equal(TestClusterKey.Key, app.Services.GetRequiredService<ClusterKey>().Bytes.ToArray());
    }
}
