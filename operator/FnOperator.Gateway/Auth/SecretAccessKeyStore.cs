using System.Text;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// Access keys from Kubernetes Secrets labelled <c>fnoperator.io/access-key: "true"</c> in one namespace: data keys
/// <c>accessKeyId</c> and <c>secretAccessKey</c>; annotations <c>fnoperator.io/username</c> (default
/// <c>fnoperator:access-key:&lt;secret name&gt;</c>; use <c>system:serviceaccount:&lt;ns&gt;:&lt;name&gt;</c> to act as a
/// ServiceAccount) and <c>fnoperator.io/groups</c> (comma-separated). Listed every <c>KeyRefreshInterval</c> and again
/// (at most every <c>KeyRefreshMinInterval</c>) when an unknown key id arrives, so a new or rotated key works at once.
/// </summary>
public sealed partial class SecretAccessKeyStore(IKubernetes client, AuthOptions options, TimeProvider time, ILogger<SecretAccessKeyStore> logger) : IAccessKeyStore
{
    public const string Label = "fnoperator.io/access-key";
    public const string UserAnnotation = "fnoperator.io/username";
    public const string GroupsAnnotation = "fnoperator.io/groups";
    public const string AccessKeyIdKey = "accessKeyId";
    public const string SecretAccessKeyKey = "secretAccessKey";

    private readonly SemaphoreSlim refreshing = new(1, 1);
    private volatile IReadOnlyDictionary<string, AccessKey> keys = new Dictionary<string, AccessKey>();
    private DateTimeOffset listedAt = DateTimeOffset.MinValue;

    public async ValueTask<AccessKey?> FindAsync(string accessKeyId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stale = now - listedAt >= options.KeyRefreshInterval;
        if (stale || (!keys.ContainsKey(accessKeyId) && now - listedAt >= options.KeyRefreshMinInterval))
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return keys.GetValueOrDefault(accessKeyId);
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        await refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (listedAt >= started)
            {
                return;
            }

            var ns = options.AccessKeyNamespace ?? "default";
            var list = await client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: $"{Label}=true", cancellationToken: cancellationToken).ConfigureAwait(false);
            var next = new Dictionary<string, AccessKey>(StringComparer.Ordinal);
            foreach (var secret in list.Items.Take(options.CacheCapacity))
            {
                if (ToKey(secret) is { } key && !next.TryAdd(key.AccessKeyId, key))
                {
                    LogDuplicate(logger, ns, secret.Metadata.Name, key.AccessKeyId);
                }
            }

            keys = next;
            listedAt = time.GetUtcNow();
        }
        catch (Exception ex) when (ex is k8s.Autorest.HttpOperationException or HttpRequestException)
        {
            // Keep the last good keys; retry on the next lookup after the short interval.
            listedAt = time.GetUtcNow() - options.KeyRefreshInterval + options.KeyRefreshMinInterval;
            LogListFailed(logger, ex, options.AccessKeyNamespace ?? "default");
        }
        finally
        {
            refreshing.Release();
        }
    }

    private AccessKey? ToKey(V1Secret secret)
    {
        var data = secret.Data ?? new Dictionary<string, byte[]>();
        if (!data.TryGetValue(AccessKeyIdKey, out var id) || !data.TryGetValue(SecretAccessKeyKey, out var value) || id.Length == 0 || value.Length == 0)
        {
            LogIncomplete(logger, secret.Metadata.NamespaceProperty, secret.Metadata.Name);
            return null;
        }

        var annotations = secret.Metadata.Annotations ?? (IDictionary<string, string>)new Dictionary<string, string>();
        var user = annotations.TryGetValue(UserAnnotation, out var u) && !string.IsNullOrWhiteSpace(u) ? u.Trim() : $"fnoperator:access-key:{secret.Metadata.Name}";
        var groups = (annotations.TryGetValue(GroupsAnnotation, out var g) ? g : "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Append("system:authenticated").Distinct(StringComparer.Ordinal).ToList();
        return new AccessKey(Encoding.UTF8.GetString(id).Trim(), Encoding.UTF8.GetString(value).Trim(), user, groups);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped access-key Secret without accessKeyId and secretAccessKey namespace={Namespace} name={Name}")]
    private static partial void LogIncomplete(ILogger logger, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped access-key Secret with a duplicate key id namespace={Namespace} name={Name} accessKeyId={AccessKeyId}")]
    private static partial void LogDuplicate(ILogger logger, string @namespace, string name, string accessKeyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed to list access-key Secrets namespace={Namespace}")]
    private static partial void LogListFailed(ILogger logger, Exception exception, string @namespace);
}
