namespace FnOperator.Operator;

/// <summary>How the operator publishes Function URLs in a cluster (Operator:Urls:…, docs/function-urls-cluster.md).</summary>
public enum UrlPublishMode
{
    /// <summary>Nothing is published: the gateway still serves the URLs to whoever routes to it.</summary>
    None,

    /// <summary>A networking.k8s.io/v1 Ingress per Function URL, in the gateway's namespace.</summary>
    Ingress,

    /// <summary>A gateway.networking.k8s.io/v1 HTTPRoute per Function URL, in the gateway's namespace.</summary>
    HttpRoute,
}

/// <summary>A Gateway API parentRef: the Gateway (and optionally its listener) an HTTPRoute attaches to.</summary>
public sealed record UrlParentRef
{
    public string Name { get; init; } = "";

    /// <summary>Namespace of the Gateway; empty: the route's own namespace (the operator's).</summary>
    public string Namespace { get; init; } = "";

    /// <summary>Listener name on the Gateway; empty: every listener that allows the route.</summary>
    public string SectionName { get; init; } = "";
}

/// <summary>Operator:Urls settings: the publish mode, the URL domain and what the Ingress or HTTPRoute is built with.</summary>
public sealed record FunctionUrlOptions
{
    public UrlPublishMode Publish { get; init; } = UrlPublishMode.None;

    /// <summary>Host-based URLs are <c>{function}.{namespace}.{Domain}</c>; the gateway's Gateway:UrlDomain must match. Required unless Publish is None.</summary>
    public string Domain { get; init; } = "";

    /// <summary>The gateway Service (in the operator's namespace) every route sends to.</summary>
    public string GatewayService { get; init; } = "fn-gateway";

    /// <summary>The gateway Service port that serves Function URLs (the Invoke API port).</summary>
    public int GatewayPort { get; init; } = 8080;

    /// <summary>Ingress: spec.ingressClassName; empty leaves it unset (the cluster's default IngressClass).</summary>
    public string IngressClassName { get; init; } = "";

    /// <summary>
    /// Ingress: extra annotations as a JSON object (e.g. <c>{"cert-manager.io/cluster-issuer":"letsencrypt"}</c> to have a
    /// certificate issued per URL). JSON because annotation keys hold '/', which an environment variable name cannot.
    /// </summary>
    public string IngressAnnotationsJson { get; init; } = "";

    /// <summary>The parsed <see cref="IngressAnnotationsJson"/> (empty when unset; <see cref="Problems"/> reports bad JSON).</summary>
    public IReadOnlyDictionary<string, string> IngressAnnotations => ParseAnnotations(IngressAnnotationsJson) ?? new Dictionary<string, string>();

    /// <summary>
    /// Ingress: the TLS Secret (in the operator's namespace) for each URL's host; <c>{namespace}</c> and <c>{function}</c>
    /// are replaced (one wildcard certificate <c>*.{namespace}.{domain}</c> per function namespace, or one per URL). Empty: no TLS.
    /// </summary>
    public string TlsSecretName { get; init; } = "";

    /// <summary>HTTPRoute: the Gateway listener terminates TLS (its certificateRefs), so status.functionUrl is https.</summary>
    public bool HttpRouteTls { get; init; }

    /// <summary>HTTPRoute: the Gateways the routes attach to (at least one).</summary>
    public List<UrlParentRef> ParentRefs { get; init; } = [];

    /// <summary>Whether URLs are served over TLS in this mode.</summary>
    public bool Https => Publish switch
    {
        UrlPublishMode.Ingress => TlsSecretName.Length > 0,
        UrlPublishMode.HttpRoute => HttpRouteTls,
        _ => false,
    };

    /// <summary>Problems with these settings, for the options validator.</summary>
    public IEnumerable<string> Problems()
    {
        if (Publish != UrlPublishMode.None && !Resources.FunctionUrlBuilder.IsDnsSubdomain(Domain))
        {
            yield return $"Operator:Urls:Domain must be a DNS name when Operator:Urls:Publish is {Publish} (was '{Domain}').";
        }

        if (Publish != UrlPublishMode.None && string.IsNullOrWhiteSpace(GatewayService))
        {
            yield return "Operator:Urls:GatewayService is required.";
        }

        if (IngressAnnotationsJson.Length > 0 && ParseAnnotations(IngressAnnotationsJson) is null)
        {
            yield return $"Operator:Urls:IngressAnnotationsJson must be a JSON object of string values (was '{IngressAnnotationsJson}').";
        }

        if (GatewayPort is < 1 or > 65535)
        {
            yield return "Operator:Urls:GatewayPort must be between 1 and 65535.";
        }

        if (Publish == UrlPublishMode.HttpRoute && (ParentRefs.Count == 0 || ParentRefs.Any(p => string.IsNullOrWhiteSpace(p.Name))))
        {
            yield return "Operator:Urls:ParentRefs must name at least one Gateway (each with a name) when Operator:Urls:Publish is HttpRoute.";
        }
    }

    private static Dictionary<string, string>? ParseAnnotations(string json)
    {
        if (json.Length == 0)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
