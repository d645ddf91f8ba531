using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FnOperator.Api;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Functions;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FnOperator.Gateway.Cluster;

/// <summary>
/// Serve mode's writes: publish-version records a request on the Function (annotation
/// <see cref="FunctionVersioning.PublishRequestAnnotation"/>) and waits for the operator to answer it in
/// status.publishRequest/publishedVersion; the alias calls create, replace and delete Alias objects; delete-function
/// --qualifier N deletes the version's ControllerRevision. Each write waits
/// (bounded) until the version watch shows the result, so a call that follows sees it.
/// </summary>
public sealed partial class ClusterVersionWriter(IKubernetes client, FunctionRegistry functions, TimeProvider time, ILogger<ClusterVersionWriter> logger) : IVersionWriter
{
    private static readonly TimeSpan PublishWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WatchWait = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);

    public static void Register(IServiceCollection services) => services.AddSingleton<IVersionWriter, ClusterVersionWriter>();

    public string CodeSha256(FunctionKey key, FunctionSpec latest) => latest.Code.Sha256 ?? LambdaShapes.Digest(latest);

    public async Task<PublishedVersion> PublishAsync(FunctionKey key, string? description, CancellationToken cancellationToken)
    {
        var request = Guid.NewGuid().ToString("N");
        var patch = new { metadata = new { annotations = new Dictionary<string, string?>
        {
            [FunctionVersioning.PublishRequestAnnotation] = request,
            [FunctionVersioning.PublishDescriptionAnnotation] = description,
        } } };
        await client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(JsonSerializer.Serialize(patch), V1Patch.PatchType.MergePatch), ApiGroup.Group, ApiGroup.Version, key.Namespace, Function.Plural, key.Name,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        LogRequested(logger, key.Namespace, key.Name, request);
        var deadline = time.GetUtcNow() + PublishWait;
        while (true)
        {
            var fn = await client.CustomObjects.GetNamespacedCustomObjectAsync<Function>(
                ApiGroup.Group, ApiGroup.Version, key.Namespace, Function.Plural, key.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (fn.Status?.PublishRequest == request && fn.Status.PublishedVersion is { } version)
            {
                await UntilAsync(() => functions.HasVersion(key, version), cancellationToken).ConfigureAwait(false);
                return functions.VersionsOf(key).FirstOrDefault(v => v.Version == version)
                    ?? throw new TimeoutException($"Version {version} of {key} was published but the gateway has not seen it yet.");
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"The operator did not answer publish request {request} of {key} within {PublishWait.TotalSeconds:0} s.");
            }

            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task SetAliasAsync(FunctionKey key, string name, AliasRoute route, CancellationToken cancellationToken)
    {
        var spec = new AliasSpec
        {
            Name = name, FunctionName = key.Name, FunctionVersion = route.Version, Description = route.Description,
            RoutingConfig = route.AdditionalVersion is null ? null : new AliasRoutingConfig { AdditionalVersionWeights = new() { [route.AdditionalVersion] = route.AdditionalWeight } },
        };
        if (await FindAsync(key, name, cancellationToken).ConfigureAwait(false) is { } existing)
        {
            existing.Spec = spec;
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync(existing, ApiGroup.Group, ApiGroup.Version, key.Namespace, Alias.Plural, existing.Metadata.Name,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var alias = new Alias { Metadata = new V1ObjectMeta { Name = ObjectName(key.Name, name), NamespaceProperty = key.Namespace }, Spec = spec };
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(alias, ApiGroup.Group, ApiGroup.Version, key.Namespace, Alias.Plural,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await UntilAsync(() => functions.TryGetAlias(key, name, out var seen) && seen == route, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAliasAsync(FunctionKey key, string name, CancellationToken cancellationToken)
    {
        if (await FindAsync(key, name, cancellationToken).ConfigureAwait(false) is not { } existing)
        {
            return false;
        }

        try
        {
            await client.CustomObjects.DeleteNamespacedCustomObjectAsync(ApiGroup.Group, ApiGroup.Version, key.Namespace, Alias.Plural, existing.Metadata.Name,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await UntilAsync(() => !functions.TryGetAlias(key, name, out _), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Deletes the version's ControllerRevision (the operator then removes its Deployment) and waits until the watch shows it gone.</summary>
    public async Task DeleteVersionAsync(FunctionKey key, string version, CancellationToken cancellationToken)
    {
        var revisions = await client.AppsV1.ListNamespacedControllerRevisionAsync(
            key.Namespace, labelSelector: $"{VersionFeed.RevisionSelector},fnoperator.io/version={version}", cancellationToken: cancellationToken).ConfigureAwait(false);
        foreach (var revision in revisions.Items.Where(r => r.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == Function.KindName && o.Name == key.Name) == true))
        {
            try
            {
                await client.AppsV1.DeleteNamespacedControllerRevisionAsync(revision.Metadata.Name, key.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
                LogDeletedVersion(logger, key.Namespace, key.Name, version, revision.Metadata.Name);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
            }
        }

        await UntilAsync(() => !functions.HasVersion(key, version), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An Alias object name (a DNS label) for a function's alias: &lt;function&gt;-&lt;alias&gt; lowercased, with a hash when it had to change.</summary>
    public static string ObjectName(string function, string alias)
    {
        var plain = $"{function}-{alias}";
        var label = new string([.. plain.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-')]).Trim('-', '.');
        if (label == plain && label.Length <= 63)
        {
            return label;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(plain)))[..8];
        return $"{label[..Math.Min(label.Length, 54)].TrimEnd('-', '.')}-{hash}";
    }

    private async Task<Alias?> FindAsync(FunctionKey key, string name, CancellationToken cancellationToken)
    {
        var list = await client.CustomObjects.ListNamespacedCustomObjectAsync<CustomResourceList<Alias>>(
            ApiGroup.Group, ApiGroup.Version, key.Namespace, Alias.Plural, cancellationToken: cancellationToken).ConfigureAwait(false);
        return list.Items.FirstOrDefault(a => a.Spec?.FunctionName == key.Name && (string.IsNullOrEmpty(a.Spec.Name) ? a.Metadata.Name : a.Spec.Name) == name);
    }

    private async Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + WatchWait;
        while (!condition() && time.GetUtcNow() < deadline)
        {
            await Task.Delay(Poll, time, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted version namespace={Namespace} function={Function} version={Version} revision={Revision}")]
    private static partial void LogDeletedVersion(ILogger logger, string @namespace, string function, string version, string revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Requested publish of version namespace={Namespace} function={Function} request={Request}")]
    private static partial void LogRequested(ILogger logger, string @namespace, string function, string request);
}

/// <summary>A list of custom objects as the API returns it.</summary>
public sealed class CustomResourceList<T> : KubernetesObject
{
    [System.Text.Json.Serialization.JsonPropertyName("items")]
    public List<T> Items { get; set; } = [];
}
