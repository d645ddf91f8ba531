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
        var app = OperatorApp.Build(["--urls", "http://127.0.0.1:0", .. args], services => services.AddSingleton<IKubernetes>(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" })));
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
}
