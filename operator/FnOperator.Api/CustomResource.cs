using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FnOperator.Api;

/// <summary>
/// The envelope every fnoperator.io resource shares: apiVersion, kind, metadata, spec and status. Each kind is a sealed
/// subclass that names itself and carries its own CRD attributes (names, printer columns, description).
/// </summary>
public abstract class CustomResource<TSpec, TStatus>(string kind) : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus?>
    where TSpec : new()
    where TStatus : class
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = ApiGroup.ApiVersion;

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public TSpec Spec { get; set; } = new();

    [JsonPropertyName("status")]
    public TStatus? Status { get; set; }
}
