using System.Globalization;
using FnOperator.Api;
using FnOperator.Contracts;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>
/// The runtime container's environment: the runtime-shim's contract variables (<see cref="ShimVariables"/>), then the
/// user's. The version's number becomes AWS_LAMBDA_FUNCTION_VERSION.
/// </summary>
public static class EnvironmentBuilder
{
    public static List<V1EnvVar> Build(FunctionVersion version, OperatorOptions options)
    {
        var spec = version.Spec;
        var entrypoint = string.IsNullOrEmpty(spec.Handler) ? options.RuntimeEntrypoint : $"{options.RuntimeEntrypoint} {spec.Handler}";
        var env = new List<V1EnvVar>
        {
            Literal(ShimVariables.SourceUrl, options.GatewayUrl),
            Literal(ShimVariables.FunctionNamespace, version.Namespace),
            Literal(LambdaVariables.FunctionName, version.FunctionName),
            Literal(LambdaVariables.FunctionVersion, version.Version),
            Literal(LambdaVariables.FunctionMemorySize, spec.MemoryMiB.ToString(CultureInfo.InvariantCulture)),
            Literal(ShimVariables.TimeoutSeconds, spec.TimeoutSeconds.ToString(CultureInfo.InvariantCulture)),
            Literal(ShimVariables.RuntimeApiAddress, ShimVariables.ClusterRuntimeApiAddress),
            Literal(ShimVariables.HttpAddress, $"0.0.0.0:{Names.ShimHttpPort}"),
            Literal(LambdaVariables.TaskRoot, Names.TaskRoot),
            Literal(LambdaVariables.Region, options.Region),
            Literal(PullProtocol.CredentialFileEnv, $"{Names.PullCredentialMountPath}/{PullProtocol.CredentialSecretKey}"),
            // The pod's name (downward API): the shim names itself on pull requests, the autoscaler spares busy pods on scale-in.
            new() { Name = PullProtocol.InstanceEnv, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { ApiVersion = "v1", FieldPath = "metadata.name" } } },
        };
        // provided.* with zip or ConfigMap code: Lambda runs the code's own bootstrap ($LAMBDA_TASK_ROOT/bootstrap, else
        // /opt/bootstrap), which the shim's built-in launcher does; the base image's entrypoint would look in /var/runtime.
        // dotnet* with zip or ConfigMap code: the shim's built-in launcher runs the project's managed .NET runtime
        // (/fnop-bin/bootstraps/dotnet) on the image's /var/lang/bin/dotnet, as local mode does, so a function built without
        // Amazon.Lambda.RuntimeSupport/Serialization (the image's own runtime needs them) runs the same in both places.
        var family = LambdaRuntimes.FamilyOf(spec.Runtime);
        var ownBootstrap = spec.Code?.Image is null && family is RuntimeFamily.Provided or RuntimeFamily.DotNet;
        if (!ownBootstrap)
        {
            env.Add(Literal(ShimVariables.RuntimeCommand, entrypoint));
        }

        if (!string.IsNullOrEmpty(spec.Runtime))
        {
            env.Add(Literal(ShimVariables.Runtime, spec.Runtime));
        }

        if (!string.IsNullOrEmpty(spec.Handler))
        {
            env.Add(Literal(LambdaVariables.Handler, spec.Handler));
        }

        env.AddRange(FunctionLogging.Variables(spec.Logging).Select(v => Literal(v.Key, v.Value)));

        // spec.concurrency.perInstance > 1 (node only, docs/concurrency.md): the shim runs that many invocations at once.
        // Left out at 1, so existing Deployments do not roll.
        if (spec.Concurrency is { PerInstance: > 1 } concurrency)
        {
            env.Add(Literal(LambdaVariables.MaxConcurrency, concurrency.PerInstance.ToString(CultureInfo.InvariantCulture)));
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
