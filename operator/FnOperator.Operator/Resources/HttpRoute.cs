using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FnOperator.Operator.Resources;

/// <summary>
/// The part of a Gateway API gateway.networking.k8s.io/v1 HTTPRoute the operator writes (KubernetesClient has no model
/// for it): parentRefs, hostnames and rules with path matches and backendRefs. Status is the Gateway controller's.
/// </summary>
public sealed class HttpRoute : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "gateway.networking.k8s.io";
    public const string Version = "v1";
    public const string Plural = "httproutes";
    public const string KindName = "HTTPRoute";

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = Group + "/" + Version;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = KindName;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public HttpRouteSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public HttpRouteStatus? Status { get; set; }
}

public sealed class HttpRouteSpec
{
    [JsonPropertyName("parentRefs")]
    public List<HttpRouteParentRef>? ParentRefs { get; set; }

    [JsonPropertyName("hostnames")]
    public List<string>? Hostnames { get; set; }

    [JsonPropertyName("rules")]
    public List<HttpRouteRule>? Rules { get; set; }
}

public sealed class HttpRouteParentRef
{
    [JsonPropertyName("group")]
    public string? Group { get; set; }

    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }

    [JsonPropertyName("sectionName")]
    public string? SectionName { get; set; }
}

public sealed class HttpRouteRule
{
    [JsonPropertyName("matches")]
    public List<HttpRouteMatch>? Matches { get; set; }

    [JsonPropertyName("backendRefs")]
    public List<HttpRouteBackendRef>? BackendRefs { get; set; }
}

public sealed class HttpRouteMatch
{
    [JsonPropertyName("path")]
    public HttpPathMatch? Path { get; set; }
}

public sealed class HttpPathMatch
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("value")]
    public string? Value { get; set; }
}

public sealed class HttpRouteBackendRef
{
    [JsonPropertyName("group")]
    public string? Group { get; set; }

    [JsonPropertyName("kind")]
    public string? Kind { get; set; }

    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    [JsonPropertyName("namespace")]
    public string? Namespace { get; set; }

    [JsonPropertyName("port")]
    public int? Port { get; set; }

    [JsonPropertyName("weight")]
    public int? Weight { get; set; }
}

/// <summary>Written by the Gateway implementation: per parent, conditions such as Accepted and ResolvedRefs.</summary>
public sealed class HttpRouteStatus
{
    [JsonPropertyName("parents")]
    public List<HttpRouteParentStatus>? Parents { get; set; }
}

public sealed class HttpRouteParentStatus
{
    [JsonPropertyName("parentRef")]
    public HttpRouteParentRef? ParentRef { get; set; }

    [JsonPropertyName("controllerName")]
    public string? ControllerName { get; set; }

    [JsonPropertyName("conditions")]
    public List<V1Condition>? Conditions { get; set; }
}
