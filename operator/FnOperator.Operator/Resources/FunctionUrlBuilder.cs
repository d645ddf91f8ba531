using System.Text.RegularExpressions;
using FnOperator.Api;
using FnOperator.Kubernetes;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>
/// Pure builders of what publishes a Function URL in a cluster: the host <c>{function}.{namespace}.{domain}</c>, the
/// URL written to status.functionUrl, and the Ingress or HTTPRoute that sends the host to the gateway Service. Both live
/// in the gateway's namespace (an Ingress backend and, without a ReferenceGrant, an HTTPRoute backendRef must be a
/// Service of the route's own namespace), so they carry labels naming their Function instead of an ownerReference
/// (owners cannot be in another namespace); <see cref="Controllers.FunctionUrlPublisher"/> deletes them.
/// </summary>
public static partial class FunctionUrlBuilder
{
    public const string Component = "function-url";

    /// <summary>The Function's namespace (the name is in <see cref="Names.LabelFunction"/>).</summary>
    public const string LabelFunctionNamespace = "fnoperator.io/function-namespace";

    /// <summary>Selector of every Ingress/HTTPRoute the operator publishes.</summary>
    public const string Selector = Names.LabelManagedBy + "=" + Names.ManagedBy + "," + Names.LabelComponent + "=" + Component;

    /// <summary>Path-based URLs: <c>/url/{namespace}/{function}/{path…}</c> (the chart's one route publishes this prefix).</summary>
    public const string PathPrefix = "/url/";

    /// <summary>The published object's name: <c>{function}.{namespace}</c>, unique because a namespace has no dots.</summary>
    public static string Name(string ns, string function) => $"{function}.{ns}";

    public static string Host(string ns, string function, string domain) => $"{function}.{ns}.{domain.Trim('.').ToLowerInvariant()}";

    /// <summary>The URL status.functionUrl shows: host-based with a domain, else path-based on the gateway's base URL.</summary>
    public static string Url(Function fn, FunctionUrlOptions urls, string gatewayBaseUrl) =>
        urls.Domain.Length > 0
            ? $"{(urls.Https ? "https" : "http")}://{Host(fn.Metadata.NamespaceProperty, fn.Metadata.Name, urls.Domain)}/"
            : $"{gatewayBaseUrl.TrimEnd('/')}{PathPrefix}{fn.Metadata.NamespaceProperty}/{fn.Metadata.Name}/";

    /// <summary>Why this Function's URL cannot be published as a host, or null.</summary>
    public static string? HostProblem(Function fn, string domain)
    {
        var name = fn.Metadata.Name;
        if (!IsDnsLabel(name))
        {
            return $"The function name '{name}' is not a DNS label (at most 63 characters: lower-case letters, digits and '-'), so it cannot be the first label of its URL host {name}.{fn.Metadata.NamespaceProperty}.{domain}; rename the function or use the path-based URL {PathPrefix}{fn.Metadata.NamespaceProperty}/{name}/.";
        }

        var host = Host(fn.Metadata.NamespaceProperty, name, domain);
        return host.Length > 253 ? $"The URL host {host} is {host.Length} characters long; a DNS name has at most 253." : null;
    }

    /// <summary>Why the qualifier is not one Lambda allows for a URL (an alias name or $LATEST), or null.</summary>
    public static string? QualifierProblem(string? qualifier) =>
        qualifier is null || qualifier == Names.LatestVersion ? null
        : qualifier.Length > 0 && qualifier.All(char.IsAsciiDigit) ? $"url.qualifier '{qualifier}' is a version number; a Function URL may name only an alias or $LATEST (as Lambda)."
        : AliasName().IsMatch(qualifier) ? null
        : $"url.qualifier '{qualifier}' is not an alias name (letters, digits, - and _, at most 128 characters) or $LATEST.";

    public static Dictionary<string, string> Labels(string ns, string function) => new(StringComparer.Ordinal)
    {
        [Names.LabelManagedBy] = Names.ManagedBy,
        [Names.LabelComponent] = Component,
        [Names.LabelFunction] = function,
        [LabelFunctionNamespace] = ns,
    };

    /// <summary>The Function a published object belongs to, from its labels.</summary>
    public static ObjectKey? FunctionOf(V1ObjectMeta metadata) =>
        metadata.Labels is { } labels
        && labels.TryGetValue(Names.LabelComponent, out var component) && component == Component
        && labels.TryGetValue(Names.LabelFunction, out var function)
        && labels.TryGetValue(LabelFunctionNamespace, out var ns)
            ? new ObjectKey(ns, function)
            : null;

    /// <summary>The Ingress of <paramref name="fn"/>'s URL, in <paramref name="gatewayNamespace"/>.</summary>
    public static V1Ingress Ingress(Function fn, FunctionUrlOptions urls, string gatewayNamespace)
    {
        var ns = fn.Metadata.NamespaceProperty;
        var host = Host(ns, fn.Metadata.Name, urls.Domain);
        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = new V1ObjectMeta
            {
                Name = Name(ns, fn.Metadata.Name),
                NamespaceProperty = gatewayNamespace,
                Labels = Labels(ns, fn.Metadata.Name),
                Annotations = urls.IngressAnnotations.Count > 0 ? new Dictionary<string, string>(urls.IngressAnnotations, StringComparer.Ordinal) : null,
            },
            Spec = new V1IngressSpec
            {
                IngressClassName = urls.IngressClassName.Length > 0 ? urls.IngressClassName : null,
                Rules =
                [
                    new V1IngressRule
                    {
                        Host = host,
                        Http = new V1HTTPIngressRuleValue
                        {
                            Paths =
                            [
                                new V1HTTPIngressPath
                                {
                                    Path = "/",
                                    PathType = "Prefix",
                                    Backend = new V1IngressBackend
                                    {
                                        Service = new V1IngressServiceBackend { Name = urls.GatewayService, Port = new V1ServiceBackendPort { Number = urls.GatewayPort } },
                                    },
                                },
                            ],
                        },
                    },
                ],
                Tls = urls.TlsSecretName.Length > 0
                    ? [new V1IngressTLS { Hosts = [host], SecretName = TlsSecretName(urls.TlsSecretName, ns, fn.Metadata.Name) }]
                    : [], // not null: an update that drops TLS must compare unequal to an Ingress that has it
            },
        };
    }

    /// <summary>The HTTPRoute of <paramref name="fn"/>'s URL, in <paramref name="gatewayNamespace"/>, attached to the configured Gateways.</summary>
    public static HttpRoute HttpRoute(Function fn, FunctionUrlOptions urls, string gatewayNamespace)
    {
        var ns = fn.Metadata.NamespaceProperty;
        return new HttpRoute
        {
            Metadata = new V1ObjectMeta
            {
                Name = Name(ns, fn.Metadata.Name),
                NamespaceProperty = gatewayNamespace,
                Labels = Labels(ns, fn.Metadata.Name),
            },
            Spec = new HttpRouteSpec
            {
                // Group, kind and weight as the Gateway API CRD defaults them, so the live object compares equal.
                ParentRefs = [.. urls.ParentRefs.Select(p => new HttpRouteParentRef
                {
                    Group = global::FnOperator.Operator.Resources.HttpRoute.Group,
                    Kind = "Gateway",
                    Name = p.Name,
                    Namespace = p.Namespace.Length > 0 ? p.Namespace : null,
                    SectionName = p.SectionName.Length > 0 ? p.SectionName : null,
                })],
                Hostnames = [Host(ns, fn.Metadata.Name, urls.Domain)],
                Rules =
                [
                    new HttpRouteRule
                    {
                        Matches = [new HttpRouteMatch { Path = new HttpPathMatch { Type = "PathPrefix", Value = "/" } }],
                        BackendRefs = [new HttpRouteBackendRef { Group = "", Kind = "Service", Name = urls.GatewayService, Port = urls.GatewayPort, Weight = 1 }],
                    },
                ],
            },
        };
    }

    public static string TlsSecretName(string template, string ns, string function) =>
        template.Replace("{namespace}", ns, StringComparison.Ordinal).Replace("{function}", function, StringComparison.Ordinal);

    public static bool IsDnsLabel(string? text) => text is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(text);

    public static bool IsDnsSubdomain(string? text) =>
        text is { Length: > 0 and <= 253 } && text.Split('.').All(IsDnsLabel);

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,128}$")]
    private static partial Regex AliasName();
}
