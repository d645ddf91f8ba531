using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation;

namespace FnOperator.KubeApiServer;

/// <summary>
/// networking.k8s.io/v1 Ingress rules of k8s.io/kubernetes pkg/apis/networking/validation (ValidateIngressSpec) that a
/// controller writing Ingresses can break: rule hosts (DNS-1123 subdomains, an optional leading "*." wildcard, no IP),
/// paths (pathType required, Exact/Prefix paths absolute), a backend that is a Service or a resource (not both), and a
/// service port that is a name or a number 1–65535 (not both); TLS hosts are DNS names too.
/// </summary>
internal static partial class IngressValidation
{
    private static readonly string[] PathTypes = ["Exact", "Prefix", "ImplementationSpecific"];

    public static IEnumerable<FieldError> Validate(JsonObject obj)
    {
        if (obj["spec"] is not JsonObject spec)
        {
            yield break;
        }

        var rules = spec["rules"] as JsonArray ?? [];
        if (rules.Count == 0 && spec["defaultBackend"] is null)
        {
            yield return FieldError.Invalid("spec.rules", (JsonNode?)null, "either `defaultBackend` or `rules` must be specified");
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] as JsonObject;
            if ((string?)rule?["host"] is { Length: > 0 } host && HostProblem(host) is { } problem)
            {
                yield return FieldError.Invalid($"spec.rules[{i}].host", host, problem);
            }

            var paths = rule?["http"]?["paths"] as JsonArray;
            if (rule?["http"] is not null && (paths is null || paths.Count == 0))
            {
                yield return FieldError.Required($"spec.rules[{i}].http.paths");
            }

            for (var j = 0; j < (paths?.Count ?? 0); j++)
            {
                var field = $"spec.rules[{i}].http.paths[{j}]";
                var path = paths![j] as JsonObject;
                var pathType = (string?)path?["pathType"];
                if (pathType is null)
                {
                    yield return FieldError.Required(field + ".pathType", "pathType must be specified");
                }
                else if (!PathTypes.Contains(pathType))
                {
                    yield return FieldError.NotSupported(field + ".pathType", pathType, PathTypes.Select(t => (JsonNode?)t));
                }
                else if (pathType != "ImplementationSpecific" && !((string?)path?["path"] ?? "").StartsWith('/'))
                {
                    yield return FieldError.Invalid(field + ".path", path?["path"]?.DeepClone(), "must be an absolute path");
                }

                foreach (var error in BackendErrors(field + ".backend", path?["backend"] as JsonObject))
                {
                    yield return error;
                }
            }
        }

        var tls = spec["tls"] as JsonArray ?? [];
        for (var i = 0; i < tls.Count; i++)
        {
            var hosts = tls[i]?["hosts"] as JsonArray ?? [];
            for (var j = 0; j < hosts.Count; j++)
            {
                if ((string?)hosts[j] is { } host && HostProblem(host) is { } problem)
                {
                    yield return FieldError.Invalid($"spec.tls[{i}].hosts[{j}]", host, problem);
                }
            }
        }
    }

    private static IEnumerable<FieldError> BackendErrors(string field, JsonObject? backend)
    {
        var service = backend?["service"] as JsonObject;
        if ((service is null) == (backend?["resource"] is null))
        {
            yield return FieldError.Invalid(field, (JsonNode?)null, "cannot set both resource and service backends");
            yield break;
        }

        if (service is null)
        {
            yield break;
        }

        if ((string?)service["name"] is not { Length: > 0 })
        {
            yield return FieldError.Required(field + ".service.name");
        }

        var port = service["port"] as JsonObject;
        var hasName = (string?)port?["name"] is { Length: > 0 };
        var number = port?["number"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : (long?)null;
        if (hasName == (number is not null))
        {
            yield return FieldError.Invalid(field + ".service.port", port?.DeepClone(), "port name or number is required (exactly one)");
        }
        else if (number is < 1 or > 65535)
        {
            yield return FieldError.Invalid(field + ".service.port.number", number, "must be between 1 and 65535, inclusive");
        }
    }

    private static string? HostProblem(string host)
    {
        if (System.Net.IPAddress.TryParse(host, out _))
        {
            return "must be a DNS name, not an IP address";
        }

        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return name.Length <= 253 && name.Split('.').All(l => l.Length <= 63 && DnsLabel().IsMatch(l))
            ? null
            : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();
}
