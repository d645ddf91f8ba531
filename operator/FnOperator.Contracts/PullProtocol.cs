using System.Security.Cryptography;
using System.Text;

namespace FnOperator.Contracts;

/// <summary>
/// The internal HTTP protocol by which a runtime-shim pulls work from the gateway's queue. JSON bodies use
/// <see cref="System.Text.Json.JsonSerializerDefaults.Web"/> (camelCase, byte[] as base64).
/// <list type="bullet">
/// <item><c>GET {base}/_fnop/v1/functions/{namespace}/{name}/versions/{version}/next?waitMs=N</c>:
/// 200 with an <see cref="Invocation"/> body (its <see cref="Invocation.LeaseToken"/> set), or 204 when nothing arrived
/// within waitMs (the client asks again), or 410 when the function is gone (the source is closed).</item>
/// <item><c>POST {base}/_fnop/v1/invocations/{requestId}/result</c> with an <see cref="InvocationResult"/> body and the
/// lease token in <see cref="LeaseTokenHeader"/>: 202. 404 when that lease is not in flight (completed, released, expired).
/// With <c>?next=N</c> (<see cref="NextAfterResultParameter"/>: the worker will take another invocation of the same
/// version) the result is recorded at once and the answer held until there is something to say: 200 with what a
/// <c>next</c> long poll of N ms would return, an <see cref="Invocation"/> (status, headers and body in one write, with
/// a Content-Length), or an empty 200 when none came (the worker polls <c>next</c> as usual); one exchange per
/// invocation instead of two. A worker that loses the connection before the answer posts the result again plainly (a
/// 404 then: the first post was recorded). A gateway that does not know the parameter answers 202; an older gateway
/// sent the 200's headers first and the body chunked, which workers read the same way.</item>
/// <item><c>POST {base}/_fnop/v1/invocations/{requestId}/release</c> with the lease token: 202; the invocation goes back to the queue.</item>
/// <item><c>POST {StreamTo ?? base}/_fnop/v1/invocations/{requestId}/stream</c> (an invocation with
/// <see cref="Invocation.StreamResponse"/>, answered by its runtime in streaming mode): a chunked body of the function's
/// response bytes as the runtime writes them, its Content-Type the runtime's; 202 once the gateway took every byte, 404
/// when no caller waits for that stream on this replica, 409 when it is already streaming. The result (outcome, error,
/// log) follows on the result path as usual, after the stream ended; its payload is then empty.</item>
/// </list>
/// Every request carries the function version's credential in <see cref="CredentialHeader"/> when the gateway requires
/// one: 401 without it, 403 with a credential of another function version. The credential is
/// <see cref="Credential"/>(cluster key, namespace, name, version); the shim reads it from the file named by
/// <see cref="CredentialFileEnv"/> (never from its environment, which the runtime would inherit).
/// </summary>
public static class PullProtocol
{
    public const string Prefix = "/_fnop/v1";

    /// <summary>Header carrying the per-function-version pull credential.</summary>
    public const string CredentialHeader = "X-Fnop-Pull-Credential";

    /// <summary>Header carrying the lease token of the invocation a result or release is for.</summary>
    public const string LeaseTokenHeader = "X-Fnop-Lease-Token";

    /// <summary>
    /// Header by which a shim names its instance on pull requests (its pod name in a cluster), so the gateway knows which
    /// instances hold leases (the autoscaler's drain-aware scale-in).
    /// </summary>
    public const string InstanceHeader = "X-Fnop-Instance";

    /// <summary>Environment variable of the shim holding its instance name (the operator sets it from the pod's metadata.name).</summary>
    public const string InstanceEnv = "FNOP_INSTANCE";

    /// <summary>Environment variable of the shim naming the file that holds its pull credential (deleted after reading where the file system allows).</summary>
    public const string CredentialFileEnv = "FNOP_PULL_CREDENTIAL_FILE";

    /// <summary>Key of the credential in the per-Deployment Secret the operator mints (and of the cluster key Secret: <see cref="ClusterKeySecretKey"/>).</summary>
    public const string CredentialSecretKey = "credential";

    /// <summary>Key of the cluster key in the Secret mounted into the gateway and the operator.</summary>
    public const string ClusterKeySecretKey = "cluster-key";

    /// <summary>The smallest cluster key accepted (bytes).</summary>
    public const int MinClusterKeyBytes = 32;

    public static string NextPath(string ns, string name, string version) =>
        $"{Prefix}/functions/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(name)}/versions/{Uri.EscapeDataString(version)}/next";

    /// <summary>Query parameter of a result POST asking for the next invocation in its response (wait in ms).</summary>
    public const string NextAfterResultParameter = "next";

    public static string ResultPath(string requestId) => $"{Prefix}/invocations/{Uri.EscapeDataString(requestId)}/result";

    public static string StreamPath(string requestId) => $"{Prefix}/invocations/{Uri.EscapeDataString(requestId)}/stream";

    /// <summary>Largest response a streaming invocation may send (Lambda's limit for streamed responses: 200 MB).</summary>
    public const long MaxStreamResponseBytes = 200L * 1024 * 1024;

    public static string ReleasePath(string requestId) => $"{Prefix}/invocations/{Uri.EscapeDataString(requestId)}/release";

    /// <summary>
    /// The pull credential of one function version: base64url(HMAC-SHA256(clusterKey, "namespace/name/version")). Pure, so
    /// the operator (minting the Secret) and the gateway (verifying, without API calls) derive the same value.
    /// </summary>
    public static string Credential(ReadOnlySpan<byte> clusterKey, string ns, string name, string version)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(clusterKey, Encoding.UTF8.GetBytes($"{ns}/{name}/{version}"), mac);
        return Convert.ToBase64String(mac).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>
    /// The credential of the queue-inspection endpoints (<c>/_fnop/v1/queues…</c>, sent as <c>Authorization: Bearer</c>):
    /// <see cref="Credential"/> of the reserved name <c>fnop-system/queues/read</c> (not a valid Function: namespaces and
    /// names are DNS labels, "fnop-system/queues" could be one, so the version "read" keeps it apart from any function's).
    /// </summary>
    public static string InspectionCredential(ReadOnlySpan<byte> clusterKey) => Credential(clusterKey, "fnop-system", "queues", "read");

    /// <summary>Constant-time check of a presented credential against the one derived for the function version.</summary>
    public static bool Verify(ReadOnlySpan<byte> clusterKey, string ns, string name, string version, string? presented) =>
        presented is not null
        && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Credential(clusterKey, ns, name, version)), Encoding.ASCII.GetBytes(presented));
}
