using System.Net;
using System.Text;
using FnOperator.Api;
using FnOperator.Contracts;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FnOperator.Operator.Controllers;

/// <summary>
/// The pull-credential Secret of one function version's Deployment (<see cref="Names.PullCredential"/>): key
/// <see cref="PullProtocol.CredentialSecretKey"/> = <see cref="PullProtocol.Credential"/>(cluster key, namespace, name,
/// version), the text the shim reads from <see cref="PullProtocol.CredentialFileEnv"/>. Created, or brought back when
/// its data, labels or owner drifted; the Function's controller ownerReference garbage-collects it. Secrets are not
/// cached (an informer would hold every credential in memory): each reconcile reads the one Secret through the API, so
/// a deleted or edited Secret is restored on the Function's next reconcile (a Deployment change, e.g. pods failing to
/// mount it, triggers one). A Secret of that name controlled by someone else is left alone and reported.
/// </summary>
public sealed partial class PullCredentialApplier(IKubernetes client, ClusterKey clusterKey, IEventRecorder events, ILogger<PullCredentialApplier> logger)
{
    private const int Attempts = 4;

    /// <summary>The desired Secret of <paramref name="version"/>: pure, for tests and the gateway-side check.</summary>
    public static V1Secret Build(FunctionVersion version, ReadOnlySpan<byte> key) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta
        {
            Name = Names.PullCredential(version),
            NamespaceProperty = version.Namespace,
            Labels = Names.Labels(version),
            OwnerReferences = [DeploymentBuilder.OwnerReference(version)],
        },
        Type = "Opaque",
        Data = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            [PullProtocol.CredentialSecretKey] = Encoding.ASCII.GetBytes(
                PullProtocol.Credential(key, version.Namespace, version.FunctionName, version.Version)),
        },
    };

    /// <summary>The Secret phase of one version: null when the Secret is as desired, else the problem.</summary>
    public async Task<Problem?> ApplyAsync(Function fn, FunctionVersion version, CancellationToken cancellationToken)
    {
        var desired = Build(version, clusterKey.Bytes);
        var ns = desired.Metadata.NamespaceProperty;
        var name = desired.Metadata.Name;
        var existing = await ReadAsync(ns, name, cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (existing is null)
                {
                    await client.CoreV1.CreateNamespacedSecretAsync(desired, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                    LogCreated(ns, name, fn.Metadata.Name, version.Version);
                    events.Record(fn, EventType.Normal, FunctionReasons.CreatedPullCredential, $"Created Secret {name}");
                    return null;
                }

                if (existing.Metadata.OwnerReferences?.Any(o => o.Controller == true && o.Kind == Function.KindName && o.Uid == fn.Metadata.Uid) != true)
                {
                    return Problem.AfterDependency(FunctionConditions.DeploymentReady, FunctionReasons.PullCredentialConflict,
                        $"Secret {ns}/{name} (the pull credential of version {version.Version}) exists and is not controlled by this Function; delete or rename it.");
                }

                if (Matches(existing, desired))
                {
                    return null;
                }

                existing.Metadata.Labels ??= new Dictionary<string, string>();
                foreach (var (label, value) in desired.Metadata.Labels)
                {
                    existing.Metadata.Labels[label] = value;
                }

                existing.Metadata.OwnerReferences = desired.Metadata.OwnerReferences;
                existing.Data = desired.Data;
                existing.StringData = null;
                await client.CoreV1.ReplaceNamespacedSecretAsync(existing, name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
                LogUpdated(ns, name, fn.Metadata.Name, version.Version);
                events.Record(fn, EventType.Normal, FunctionReasons.UpdatedPullCredential, $"Updated Secret {name}");
                return null;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.NotFound && attempt < Attempts)
            {
                // Created or changed under us (409), or deleted between read and replace (404): read it fresh and go again.
                existing = await ReadAsync(ns, name, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The live Secret already has the desired credential (and only it), labels and owner reference.</summary>
    public static bool Matches(V1Secret existing, V1Secret desired) =>
        existing.Type == desired.Type
        && existing.Data is { Count: 1 } data
        && data.TryGetValue(PullProtocol.CredentialSecretKey, out var value)
        && value.AsSpan().SequenceEqual(desired.Data[PullProtocol.CredentialSecretKey])
        && desired.Metadata.Labels.All(l => existing.Metadata.Labels?.TryGetValue(l.Key, out var v) == true && v == l.Value)
        && existing.Metadata.OwnerReferences is { Count: 1 } owners
        && owners[0].Uid == desired.Metadata.OwnerReferences[0].Uid
        && owners[0].Controller == true;

    private async Task<V1Secret?> ReadAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Secret namespace={Namespace} name={Name} function={Function} version={Version}")]
    private partial void LogCreated(string @namespace, string name, string function, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated Secret namespace={Namespace} name={Name} function={Function} version={Version}")]
    private partial void LogUpdated(string @namespace, string name, string function, string version);
}
