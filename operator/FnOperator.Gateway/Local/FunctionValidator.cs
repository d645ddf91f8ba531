using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using FnOperator.Api;
using FnOperator.Contracts;

namespace FnOperator.Gateway.Local;

/// <summary>A field path such as <c>spec.timeoutSeconds</c> and what is wrong with it.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>
/// Validates a Function with the same bounds as the CRDs: the field bounds come from the model's data annotations
/// (which the CRD generator turns into the OpenAPI schema), the cross-field rules mirror the CRD's CEL rules, and
/// local mode adds that <c>spec.code.path</c> must exist.
/// </summary>
public static partial class FunctionValidator
{
    /// <summary>The runtime identifiers local mode accepts: every one a cluster accepts by default (the shared list).</summary>
    public static IReadOnlyList<string> KnownRuntimes => LambdaRuntimes.Ids;

    public static IReadOnlyList<FieldError> Validate(Function function, string manifestDirectory)
    {
        var errors = new List<FieldError>();
        ValidateName(function.Metadata.Name, "metadata.name", errors);
        if (!string.IsNullOrEmpty(function.Metadata.NamespaceProperty))
        {
            ValidateName(function.Metadata.NamespaceProperty, "metadata.namespace", errors);
        }

        ValidateAnnotated(function.Spec, "spec", errors);
        ValidateSpec(function.Spec, manifestDirectory, errors);
        return errors;
    }

    private static void ValidateName(string? name, string field, List<FieldError> errors)
    {
        if (string.IsNullOrEmpty(name))
        {
            errors.Add(new FieldError(field, "required"));
        }
        else if (name.Length > 63 || !DnsLabel().IsMatch(name))
        {
            errors.Add(new FieldError(field, $"must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters (got '{name}')"));
        }
    }

    private static void ValidateSpec(FunctionSpec spec, string manifestDirectory, List<FieldError> errors)
    {
        var code = spec.Code;
        var sources = new[] { code.Image, code.Url, code.ConfigMap?.Name, code.Path }.Count(s => !string.IsNullOrEmpty(s));
        if (sources != 1)
        {
            errors.Add(new FieldError("spec.code", $"exactly one of image, url, configMap, path must be set (got {sources})"));
        }

        if (!string.IsNullOrEmpty(code.Url) && string.IsNullOrEmpty(code.Sha256))
        {
            errors.Add(new FieldError("spec.code.sha256", "required when spec.code.url is set"));
        }

        if (string.IsNullOrEmpty(spec.Runtime))
        {
            if (string.IsNullOrEmpty(code.Image))
            {
                errors.Add(new FieldError("spec.runtime", "required unless spec.code.image is set"));
            }
        }
        else if (LambdaRuntimes.Find(spec.Runtime) is not { } runtime)
        {
            errors.Add(new FieldError("spec.runtime", $"unknown runtime '{spec.Runtime}' (known: {string.Join(", ", KnownRuntimes.Order(StringComparer.Ordinal))})"));
        }
        else if (runtime.Family != RuntimeFamily.Provided && string.IsNullOrWhiteSpace(spec.Handler))
        {
            errors.Add(new FieldError("spec.handler", $"required for runtime {spec.Runtime}"));
        }

        // A dotnet function's code.path is build output that may not exist yet; LocalSupport explains that case.
        var prebuilt = LambdaRuntimes.FamilyOf(spec.Runtime) == RuntimeFamily.DotNet;
        if (!string.IsNullOrEmpty(code.Path) && sources == 1 && !prebuilt)
        {
            var dir = Path.GetFullPath(Path.Combine(manifestDirectory, code.Path));
            if (!Directory.Exists(dir))
            {
                errors.Add(new FieldError("spec.code.path", $"folder {ManifestLoader.DisplayPath(dir)} does not exist (paths are relative to the manifest file)"));
            }
        }

        for (var i = 0; i < (spec.Environment?.Count ?? 0); i++)
        {
            var env = spec.Environment![i];
            var field = $"spec.environment[{i}]";
            if (ReservedVariables.IsReserved(env.Name))
            {
                errors.Add(new FieldError($"{field}.name", $"'{env.Name}' is reserved by Lambda"));
            }

            var valueSources = (env.Value is null ? 0 : 1) + (env.SecretKeyRef is null ? 0 : 1) + (env.ConfigMapKeyRef is null ? 0 : 1);
            if (valueSources > 1)
            {
                errors.Add(new FieldError(field, "set only one of value, secretKeyRef, configMapKeyRef"));
            }
        }

        if (FunctionLogging.Problem(spec.Logging) is { } loggingProblem)
        {
            errors.Add(new FieldError("spec.logging.logFormat", loggingProblem));
        }

        if (spec.Concurrency is { Reserved: { } reserved, Provisioned: { } provisioned } && provisioned > reserved)
        {
            errors.Add(new FieldError("spec.concurrency.provisioned", $"must not exceed spec.concurrency.reserved ({provisioned} > {reserved})"));
        }

        // The schema's range (1-64) may already have said it; one error per field.
        if (FunctionPerInstance.Problem(spec) is { } perInstance && !errors.Any(e => e.Field == "spec.concurrency.perInstance"))
        {
            errors.Add(new FieldError("spec.concurrency.perInstance", perInstance));
        }

        if (spec.Concurrency?.Provisioned is { } p && spec.Scaling is { } s && p > s.MaxReplicas)
        {
            errors.Add(new FieldError("spec.concurrency.provisioned", $"must not exceed spec.scaling.maxReplicas ({p} > {s.MaxReplicas})"));
        }

        foreach (var (name, destination) in new[] { ("onSuccess", spec.Async?.Destinations?.OnSuccess), ("onFailure", spec.Async?.Destinations?.OnFailure) })
        {
            if (destination is not null && string.IsNullOrEmpty(destination.Function) == string.IsNullOrEmpty(destination.Queue))
            {
                errors.Add(new FieldError($"spec.async.destinations.{name}", "exactly one of function, queue must be set"));
            }
        }
    }

    /// <summary>Checks [Required], [Range], [MaxLength] (strings and lists), [RegularExpression] and [AllowedValues] on every model object below <paramref name="value"/>.</summary>
    private static void ValidateAnnotated(object value, string path, List<FieldError> errors)
    {
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var jsonName = property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? property.Name;
            var field = $"{path}.{jsonName}";
            var v = property.GetValue(value);
            if (v is null || (v is string str && str.Length == 0))
            {
                if (property.GetCustomAttribute<RequiredAttribute>() is not null)
                {
                    errors.Add(new FieldError(field, "required"));
                }

                continue;
            }

            if (property.GetCustomAttribute<RangeAttribute>() is { } range && v is int number)
            {
                var min = System.Convert.ToInt64(range.Minimum, CultureInfo.InvariantCulture);
                var max = System.Convert.ToInt64(range.Maximum, CultureInfo.InvariantCulture);
                if (number < min || number > max)
                {
                    errors.Add(new FieldError(field, max == int.MaxValue ? $"must be at least {min} (got {number})" : $"must be between {min} and {max} (got {number})"));
                }
            }

            if (property.GetCustomAttribute<RegularExpressionAttribute>() is { } regex && v is string s && !Regex.IsMatch(s, regex.Pattern, RegexOptions.None, TimeSpan.FromSeconds(1)))
            {
                errors.Add(new FieldError(field, $"must match {regex.Pattern} (got '{s}')"));
            }

            if (property.GetCustomAttribute<AllowedValuesAttribute>() is { } allowed && v is string choice && !allowed.Values.Contains(choice))
            {
                errors.Add(new FieldError(field, $"must be one of {string.Join(", ", allowed.Values)} (got '{choice}')"));
            }

            if (property.GetCustomAttribute<MaxLengthAttribute>() is { } maxLength)
            {
                if (v is ICollection collection && collection.Count > maxLength.Length)
                {
                    errors.Add(new FieldError(field, $"must have at most {maxLength.Length} items (got {collection.Count})"));
                }
                else if (v is string text && text.Length > maxLength.Length)
                {
                    errors.Add(new FieldError(field, $"must be at most {maxLength.Length} characters (got {text.Length})"));
                }
            }

            if (property.GetCustomAttribute<FnOperator.Api.Schema.ItemMaxLengthAttribute>() is { } itemMax && v is IEnumerable<string> strings)
            {
                var index = 0;
                foreach (var item in strings)
                {
                    if (item is { } entry && entry.Length > itemMax.Length)
                    {
                        errors.Add(new FieldError($"{field}[{index}]", $"must be at most {itemMax.Length} characters (got {entry.Length})"));
                    }

                    index++;
                }
            }

            if (v is IEnumerable items and not string)
            {
                var i = 0;
                foreach (var item in items)
                {
                    if (item is not null && IsModelType(item.GetType()))
                    {
                        ValidateAnnotated(item, $"{field}[{i}]", errors);
                    }

                    i++;
                }
            }
            else if (IsModelType(v.GetType()))
            {
                ValidateAnnotated(v, field, errors);
            }
        }
    }

    private static bool IsModelType(Type type) => type.IsClass && type.Namespace == typeof(FunctionSpec).Namespace;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
