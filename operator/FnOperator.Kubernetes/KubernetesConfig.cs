using k8s;
using k8s.Exceptions;

namespace FnOperator.Kubernetes;

/// <summary>Raised when a process (operator, gateway serve mode) cannot start for a reason the user must fix; it is printed without a stack trace.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Finds the Kubernetes client configuration as kubectl does: in-cluster service account, else the files in
/// $KUBECONFIG (colon-separated), else ~/.kube/config. No configuration at all is a clear start-up error.
/// </summary>
public static class KubernetesConfig
{
    public static KubernetesClientConfiguration Load()
    {
        if (KubernetesClientConfiguration.IsInCluster())
        {
            return KubernetesClientConfiguration.InClusterConfig();
        }

        var candidates = KubeconfigPaths(Environment.GetEnvironmentVariable("KUBECONFIG"),
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));
        var existing = candidates.Where(File.Exists).ToList();
        if (existing.Count == 0)
        {
            throw new StartupException(
                $"No Kubernetes configuration: not running in a cluster and no kubeconfig file at {string.Join(", ", candidates)}. " +
                "Set KUBECONFIG or run the operator in a pod.");
        }

        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(new FileInfo(existing[0]));
        }
        catch (KubeConfigException e)
        {
            throw new StartupException($"The kubeconfig file {existing[0]} could not be used: {e.Message}", e);
        }
    }

    /// <summary>The kubeconfig files to try, in order: $KUBECONFIG's entries when it names any, else ~/.kube/config.</summary>
    public static IReadOnlyList<string> KubeconfigPaths(string? kubeconfigVariable, string home)
    {
        var fromVariable = (kubeconfigVariable ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return fromVariable.Length > 0 ? fromVariable : [Path.Combine(home, ".kube", "config")];
    }

    /// <summary>The start-up error (missing configuration, invalid settings) inside an exception raised while the host starts, if any.</summary>
    public static StartupException? FindStartupError(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is StartupException startup)
            {
                return startup;
            }

            if (current is Microsoft.Extensions.Options.OptionsValidationException invalid)
            {
                return new StartupException($"Invalid settings: {string.Join(" ", invalid.Failures)}", invalid);
            }

            if (current is AggregateException aggregate)
            {
                return aggregate.InnerExceptions.Select(FindStartupError).FirstOrDefault(x => x is not null);
            }
        }

        return null;
    }
}
