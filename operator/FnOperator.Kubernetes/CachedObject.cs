using System.Text;
using k8s;
using k8s.Models;

namespace FnOperator.Kubernetes;

/// <summary>
/// One informer cache entry: the object itself, or (compact caches) its UTF-8 JSON, which for a Deployment is about a
/// third of the decoded object graph. Key, UID and resourceVersion stay at hand without decoding.
/// </summary>
internal sealed class CachedObject<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly T? decoded;
    private readonly byte[]? json;

    private CachedObject(T? decoded, byte[]? json, ObjectKey key, string uid, string? resourceVersion)
    {
        this.decoded = decoded;
        this.json = json;
        Key = key;
        Uid = uid;
        ResourceVersion = resourceVersion;
    }

    public ObjectKey Key { get; }

    public string Uid { get; }

    public string? ResourceVersion { get; }

    public static CachedObject<T> Of(T obj, bool compact) => new(
        compact ? null : obj,
        compact ? Encoding.UTF8.GetBytes(KubernetesJson.Serialize(obj)) : null,
        ObjectKey.Of(obj), obj.Metadata.Uid, obj.Metadata.ResourceVersion);

    /// <summary>The object; a compact entry decodes a fresh copy on every call.</summary>
    public T Value => decoded ?? KubernetesJson.Deserialize<T>(Encoding.UTF8.GetString(json!));
}
