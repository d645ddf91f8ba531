using System.Text.RegularExpressions;
using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Operator.Resources;

/// <summary>A spec problem the CRD schema cannot catch; the Function ends Ready=False with this reason.</summary>
public sealed record SpecProblem(string Reason, string Message);

/// <summary>Checks what CRD validation cannot: known runtime, exactly one code source, reserved variable names.</summary>
public static partial class FunctionSpecValidator
{
    /// <summary>The condition message of a Function applied to a cluster with the local-mode-only <c>spec.code.path</c>.</summary>
    public const string CodePathInCluster =
        "spec.code.path is a folder on your machine, read only by local mode; a cluster needs spec.code.configMap " +
        "(make one from the folder: kubectl create configmap NAME --from-file=DIR, files at the folder's top level, 1 MiB in all), " +
        "spec.code.url with sha256 (a .zip over HTTP(S)) or spec.code.image (see docs/install.md)";

    public static SpecProblem? Validate(FunctionSpec spec, OperatorOptions options)
    {
        var code = spec.Code;
        var sources = new[] { code.Image, code.Url, code.ConfigMap?.Name, code.Path }.Count(s => !string.IsNullOrEmpty(s));
        if (sources != 1)
        {
            return new(FunctionReasons.InvalidCode, $"spec.code needs exactly one of image, url, configMap, path; found {sources}.");
        }

        if (!string.IsNullOrEmpty(code.Path))
        {
            return new(FunctionReasons.InvalidCode, CodePathInCluster);
        }

        if (!string.IsNullOrEmpty(code.Url))
        {
            if (!Uri.TryCreate(code.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                return new(FunctionReasons.InvalidCode, $"spec.code.url must be an http(s) URL; got '{code.Url}'.");
            }

            if (string.IsNullOrEmpty(code.Sha256) || !Sha256Pattern().IsMatch(code.Sha256))
            {
                return new(FunctionReasons.InvalidCode, "spec.code.url requires spec.code.sha256 (64 lowercase hex digits).");
            }
        }

        if (string.IsNullOrEmpty(code.Image))
        {
            if (string.IsNullOrEmpty(spec.Runtime))
            {
                return new(FunctionReasons.UnknownRuntime, "spec.runtime is required unless spec.code.image is set.");
            }

            if (!options.RuntimeImages.ContainsKey(spec.Runtime))
            {
                return new(FunctionReasons.UnknownRuntime,
                    $"Runtime '{spec.Runtime}' is not configured; known: {string.Join(", ", options.RuntimeImages.Keys.Order(StringComparer.Ordinal))}.");
            }
        }

        foreach (var variable in spec.Environment ?? [])
        {
            if (ReservedVariables.IsReserved(variable.Name))
            {
                return new(FunctionReasons.InvalidEnvironment, $"Environment variable '{variable.Name}' is reserved by the Lambda runtime environment.");
            }

            var kinds = (variable.Value is null ? 0 : 1) + (variable.SecretKeyRef is null ? 0 : 1) + (variable.ConfigMapKeyRef is null ? 0 : 1);
            if (kinds > 1)
            {
                return new(FunctionReasons.InvalidEnvironment, $"Environment variable '{variable.Name}' must set only one of value, secretKeyRef, configMapKeyRef.");
            }
        }

        if (FunctionPerInstance.Problem(spec) is { } perInstance)
        {
            return new(FunctionReasons.InvalidConcurrency, $"spec.concurrency.perInstance: {perInstance}.");
        }

        var duplicate = (spec.Environment ?? []).GroupBy(v => v.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return new(FunctionReasons.InvalidEnvironment, $"Environment variable '{duplicate.Key}' is set more than once.");
        }

        return null;
    }

    [GeneratedRegex("^[a-f0-9]{64}$")]
    private static partial Regex Sha256Pattern();
}
