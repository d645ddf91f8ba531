namespace FnOperator.Contracts;

/// <summary>
/// The internal HTTP protocol by which a runtime-shim pulls work from the gateway's queue (local mode, and any
/// deployment without NATS). JSON bodies use <see cref="System.Text.Json.JsonSerializerDefaults.Web"/> (camelCase,
/// byte[] as base64).
/// <list type="bullet">
/// <item><c>GET {base}/_fnop/v1/functions/{namespace}/{name}/versions/{version}/next?waitMs=N</c>:
/// 200 with an <see cref="Invocation"/> body, or 204 when nothing arrived within waitMs (the client asks again),
/// or 410 when the function is gone (the source is closed).</item>
/// <item><c>POST {base}/_fnop/v1/invocations/{requestId}/result</c> with an <see cref="InvocationResult"/> body: 202.
/// 404 when the request id is not in flight (already completed or expired).</item>
/// <item><c>POST {base}/_fnop/v1/invocations/{requestId}/release</c>: 202; the invocation goes back to the queue.</item>
/// </list>
/// </summary>
public static class PullProtocol
{
    public const string Prefix = "/_fnop/v1";

    public static string NextPath(string ns, string name, string version) =>
        $"{Prefix}/functions/{Uri.EscapeDataString(ns)}/{Uri.EscapeDataString(name)}/versions/{Uri.EscapeDataString(version)}/next";

    public static string ResultPath(string requestId) => $"{Prefix}/invocations/{Uri.EscapeDataString(requestId)}/result";

    public static string ReleasePath(string requestId) => $"{Prefix}/invocations/{Uri.EscapeDataString(requestId)}/release";
}
