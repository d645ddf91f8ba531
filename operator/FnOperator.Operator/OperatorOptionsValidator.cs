using Microsoft.Extensions.Options;

namespace FnOperator.Operator;

/// <summary>Rejects settings the operator cannot work with, at start (ValidateOnStart).</summary>
public sealed class OperatorOptionsValidator : IValidateOptions<OperatorOptions>
{
    public ValidateOptionsResult Validate(string? name, OperatorOptions options)
    {
        var failures = new List<string>();
        if (!Uri.TryCreate(options.GatewayUrl, UriKind.Absolute, out _))
        {
            failures.Add($"Operator:GatewayUrl must be an absolute URL (was '{options.GatewayUrl}').");
        }

        if (!Uri.TryCreate(options.InvokeBaseUrl, UriKind.Absolute, out _))
        {
            failures.Add($"Operator:InvokeBaseUrl must be an absolute URL (was '{options.InvokeBaseUrl}').");
        }

        if (ClusterKey.Problem(options.ClusterKeyFile) is { } keyProblem)
        {
            failures.Add(keyProblem);
        }

        Require(failures, options.PodNamespace, "PodNamespace (env POD_NAMESPACE)");
        Require(failures, options.PodName, "PodName (env POD_NAME)");
        Require(failures, options.LeaseName, "LeaseName");
        Require(failures, options.ShimImage, "ShimImage");
        Require(failures, options.FetchImage, "FetchImage");
        Require(failures, options.ShimBinaryName, "ShimBinaryName");
        if (options.ShimInstallCommand.Any(string.IsNullOrWhiteSpace))
        {
            failures.Add("Operator:ShimInstallCommand must not contain empty arguments.");
        }

        if (options.Workers is < 1 or > 256)
        {
            failures.Add("Operator:Workers must be between 1 and 256.");
        }

        if (options.MinCpuMillicores is < 1 or > 16000)
        {
            failures.Add("Operator:MinCpuMillicores must be between 1 and 16000.");
        }

        if (options.RenewDeadline >= options.LeaseDuration || options.RetryPeriod >= options.RenewDeadline)
        {
            failures.Add("Operator: RetryPeriod < RenewDeadline < LeaseDuration is required.");
        }

        failures.AddRange(options.Urls.Problems());

        foreach (var (runtime, image) in options.RuntimeImages)
        {
            if (string.IsNullOrWhiteSpace(image))
            {
                failures.Add($"Operator:RuntimeImages:{runtime} must name an image.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Require(List<string> failures, string value, string what)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            failures.Add($"Operator:{what} is required.");
        }
    }
}
