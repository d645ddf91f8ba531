namespace FnOperator.Gateway.Auth;

/// <summary>
/// An access key and the Kubernetes identity it stands for. A class, not a record: a record's generated ToString
/// would print the secret into any log line or assertion message that formats it.
/// </summary>
public sealed class AccessKey(string accessKeyId, string secretAccessKey, string userName, IReadOnlyList<string> groups)
{
    public string AccessKeyId { get; } = accessKeyId;

    public string SecretAccessKey { get; } = secretAccessKey;

    public string UserName { get; } = userName;

    public IReadOnlyList<string> Groups { get; } = groups;

    public override string ToString() => $"AccessKey({AccessKeyId}, user={UserName})";
}

/// <summary>An authenticated caller: Kubernetes user name (or system:serviceaccount:ns:name) and groups.</summary>
public sealed record CallerIdentity(string UserName, IReadOnlyList<string> Groups, string Method)
{
    public const string Anonymous = "system:anonymous";
}

/// <summary>Where SigV4 access keys come from (Kubernetes Secrets in a cluster, a credentials file in local mode).</summary>
public interface IAccessKeyStore
{
    /// <summary>The key with this id, or null. May refresh its source (rate limited) when the id is unknown.</summary>
    ValueTask<AccessKey?> FindAsync(string accessKeyId, CancellationToken cancellationToken);
}
