using FnOperator.Operator.Hosting;
using Microsoft.Extensions.Options;

namespace FnOperator.Operator.Tests.Hosting;

public sealed class KubernetesConfigTests
{
    [Theory]
    [InlineData(null, "/home/u/.kube/config")]
    [InlineData("", "/home/u/.kube/config")]
    [InlineData("/a/one", "/a/one")]
    [InlineData("/a/one::/b/two", "/a/one|/b/two")]
    public void Kubeconfig_paths_follow_kubectl(string? variable, string expected) =>
        Assert.Equal(expected.Split('|'), KubernetesConfig.KubeconfigPaths(variable, "/home/u"));

    [Fact]
    public void Startup_errors_are_found_inside_wrapping_exceptions()
    {
        var missing = new StartupException("No Kubernetes configuration");
        var wrapped = new InvalidOperationException("host", new AggregateException(new IOException("other"), missing));

        Assert.Same(missing, KubernetesConfig.FindStartupError(wrapped));
        Assert.Null(KubernetesConfig.FindStartupError(new InvalidOperationException("a bug")));
    }

    [Fact]
    public void Invalid_settings_become_a_startup_error_naming_every_failure()
    {
        var invalid = new OptionsValidationException("Operator", typeof(object), ["Workers must be between 1 and 256.", "ShimImage is required."]);

        var error = KubernetesConfig.FindStartupError(invalid);

        Assert.NotNull(error);
        Assert.Contains("Workers must be between 1 and 256.", error.Message);
        Assert.Contains("ShimImage is required.", error.Message);
    }
}
