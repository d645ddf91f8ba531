using System.Globalization;
using FnOperator.Api;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>The runtime container's environment: the runtime-shim's contract variables, then the user's.</summary>
public static class EnvironmentBuilder
{
    public static List<V1EnvVar> Build(Function fn, OperatorOptions options)
    {
        var spec = fn.Spec;
        var entrypoint = string.IsNullOrEmpty(spec.Handler) ? options.RuntimeEntrypoint : $"{options.RuntimeEntrypoint} {spec.Handler}";
        var env = new List<V1EnvVar>
        {
            Literal("FNOP_SOURCE_URL", options.GatewayUrl),
            Literal("FNOP_FUNCTION_NAMESPACE", fn.Metadata.NamespaceProperty ?? "default"),
            Literal("AWS_LAMBDA_FUNCTION_NAME", fn.Metadata.Name),
            Literal("AWS_LAMBDA_FUNCTION_VERSION", Names.LatestVersion),
            Literal("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.MemoryMiB.ToString(CultureInfo.InvariantCulture)),
            Literal("FNOP_TIMEOUT_SECONDS", spec.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
            Literal("FNOP_RUNTIME_API_ADDRESS", "127.0.0.1:9001"),
            Literal("FNOP_HTTP_ADDRESS", $"0.0.0.0:{Names.ShimHttpPort}"),
            Literal("LAMBDA_TASK_ROOT", Names.TaskRoot),
            Literal("AWS_REGION", options.Region),
        };
        // provided.* with zip or ConfigMap code: Lambda runs the code's own bootstrap ($LAMBDA_TASK_ROOT/bootstrap, else
        // /opt/bootstrap), which the shim's built-in launcher does; the base image's entrypoint would look in /var/runtime.
        var ownBootstrap = spec.Code?.Image is null && spec.Runtime?.StartsWith("provided", StringComparison.Ordinal) == true;
        if (!ownBootstrap)
        {
            env.Add(Literal("FNOP_RUNTIME_COMMAND", entrypoint));
        }

        if (!string.IsNullOrEmpty(spec.Runtime))
        {
            env.Add(Literal("FNOP_RUNTIME", spec.Runtime));
        }

        if (!string.IsNullOrEmpty(spec.Handler))
        {
            env.Add(Literal("_HANDLER", spec.Handler));
        }

        // The shim passes the runtime only these of the container's variables (plus Lambda's): a clean Lambda environment.
        if (spec.Environment is { Count: > 0 } own)
        {
            env.Add(Literal("FNOP_FUNCTION_ENV", string.Join(',', own.Select(v => v.Name))));
        }

        foreach (var variable in spec.Environment ?? [])
        {
            env.Add(new V1EnvVar
            {
                Name = variable.Name,
                // An empty value is left out, as the API server stores it, so it never reads back as drift.
                Value = variable.SecretKeyRef is null && variable.ConfigMapKeyRef is null && !string.IsNullOrEmpty(variable.Value) ? variable.Value : null,
                ValueFrom = variable.SecretKeyRef is { } secret
                    ? new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret.Name, Key = secret.Key } }
                    : variable.ConfigMapKeyRef is { } configMap
                        ? new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = configMap.Name, Key = configMap.Key } }
                        : null,
            });
        }

        return env;
    }

    private static V1EnvVar Literal(string name, string value) => new() { Name = name, Value = value };
}
