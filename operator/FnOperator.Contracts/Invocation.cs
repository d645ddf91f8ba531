using System.Text.Json.Serialization;

namespace FnOperator.Contracts;

/// <summary>How the caller asked for the function to be invoked (X-Amz-Invocation-Type).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InvocationType>))]
public enum InvocationType
{
    RequestResponse,
    Event,
    DryRun,
}

/// <summary>
/// One invocation of one function version, as it travels from the gateway through the queue to a runtime-shim.
/// The payload is the raw request body (JSON for the managed runtimes, any bytes for a custom runtime).
/// </summary>
public sealed record Invocation
{
    /// <summary>The AWS request id, a GUID string; unique per invocation attempt chain (retries keep it).</summary>
    public required string RequestId { get; init; }

    /// <summary>Kubernetes namespace of the Function ("default" in local mode unless the manifest says otherwise).</summary>
    public required string Namespace { get; init; }

    /// <summary>Function name (metadata.name of the Function).</summary>
    public required string FunctionName { get; init; }

    /// <summary>Resolved version that must run this invocation: "$LATEST" or a published number such as "3".</summary>
    public required string Version { get; init; }

    /// <summary>The ARN-like name the caller used, handed to the runtime as Lambda-Runtime-Invoked-Function-Arn.</summary>
    public required string InvokedFunctionArn { get; init; }

    public required InvocationType Type { get; init; }

    public required byte[] Payload { get; init; }

    /// <summary>Client context JSON (decoded from the base64 X-Amz-Client-Context header), or null.</summary>
    public string? ClientContext { get; init; }

    /// <summary>Cognito identity JSON, or null.</summary>
    public string? CognitoIdentity { get; init; }

    /// <summary>X-Ray style trace header value (Root=…;Parent=…;Sampled=…).</summary>
    public string? TraceId { get; init; }

    /// <summary>True when the caller asked for X-Amz-Log-Type: Tail.</summary>
    public bool TailLog { get; init; }

    /// <summary>1 for the first attempt; async retries increment it.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>When the gateway accepted the invocation (for maximum event age and queue-time metrics).</summary>
    public required DateTimeOffset AcceptedAt { get; init; }

    /// <summary>
    /// Set by the gateway's queue when it hands the invocation out: which delivery of this attempt the lease is (1 = the
    /// first; a lease that expired or was released delivers it again). Gateway-internal: never on the wire.
    /// </summary>
    [JsonIgnore]
    public int Delivery { get; init; }

    /// <summary>
    /// Set by the queue when it hands the invocation out: identifies this lease (not just the request id). The shim sends
    /// it back with the result or release (<see cref="PullProtocol.LeaseTokenHeader"/>); a result for an older lease of a
    /// redelivered invocation does not match the current one. Null while queued.
    /// </summary>
    public string? LeaseToken { get; init; }

    /// <summary>
    /// True for InvokeWithResponseStream and RESPONSE_STREAM Function URLs: the caller reads the response as the function
    /// writes it. A runtime that answers in the Runtime API's streaming mode has its bytes sent on to the gateway as they
    /// arrive (<see cref="PullProtocol.StreamPath"/>); any other answer arrives in the result, as for Invoke.
    /// </summary>
    public bool StreamResponse { get; init; }

    /// <summary>
    /// Absolute base URL of the gateway replica holding the streaming caller (where the shim sends the stream); null means
    /// the gateway the shim pulls from (the in-process queue, one replica). See docs/streaming.md.
    /// </summary>
    public string? StreamTo { get; init; }
}

/// <summary>What became of an invocation attempt.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InvocationOutcome>))]
public enum InvocationOutcome
{
    /// <summary>The runtime posted a response.</summary>
    Success,

    /// <summary>The function failed: handled error posted by the runtime, unhandled exception, timeout, crash, oversized response.</summary>
    FunctionError,
}

/// <summary>The result of one attempt, returned by the shim to the invocation source.</summary>
public sealed record InvocationResult
{
    public required string RequestId { get; init; }

    public required InvocationOutcome Outcome { get; init; }

    /// <summary>Response body (success) or Lambda error JSON {"errorMessage","errorType","stackTrace"} (function error).</summary>
    public required byte[] Payload { get; init; }

    /// <summary>"Handled" or "Unhandled" when <see cref="Outcome"/> is FunctionError (X-Amz-Function-Error); else null.</summary>
    public string? FunctionError { get; init; }

    /// <summary>Lambda error type such as "Runtime.ExitError", "Sandbox.Timedout", "Function.ResponseSizeTooLarge", or the runtime's own.</summary>
    public string? ErrorType { get; init; }

    /// <summary>The version that ran (X-Amz-Executed-Version).</summary>
    public required string ExecutedVersion { get; init; }

    /// <summary>The last 4 KB of this invocation's log (START … REPORT), raw text; only set when the invocation asked for it.</summary>
    public string? LogTail { get; init; }

    public double DurationMs { get; init; }

    public long BilledDurationMs { get; init; }

    public int MemorySizeMb { get; init; }

    public int MaxMemoryUsedMb { get; init; }

    /// <summary>Set when this attempt paid a cold start.</summary>
    public double? InitDurationMs { get; init; }
}
