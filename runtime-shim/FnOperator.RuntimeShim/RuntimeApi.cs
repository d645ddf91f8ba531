using System.Globalization;
using System.Text.Json;
using FnOperator.Contracts;

namespace FnOperator.RuntimeShim;

/// <summary>The Runtime API's routes.</summary>
public enum RuntimeApiRoute
{
    NotFound,
    MethodNotAllowed,
    Next,
    Response,
    Error,
    InitError,
}

/// <summary>
/// The Lambda Runtime API 2018-06-01 on the loopback address: what each route does, written once against
/// <see cref="IRuntimeApiExchange"/> and carried by either server (<see cref="RuntimeApiServer"/>, the default, or
/// Kestrel's minimal-API endpoints with FNOP_RUNTIME_API_SERVER=kestrel, <see cref="Map"/>).
/// </summary>
public sealed class RuntimeApi(ShimOptions options, InvocationSlot slot, RuntimeSupervisor supervisor, Func<IResponseStreamSink?> sink)
{
    public const string Prefix = "/2018-06-01/runtime";
    private const int MaxDrainBytes = 256 * 1024 * 1024;
    private static readonly byte[] Accepted = """{"status":"OK"}"""u8.ToArray();

    /// <summary>The routes as Kestrel endpoints.</summary>
    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(Prefix + "/invocation/next", (HttpContext context) => NextAsync(new KestrelExchange(context)));
        app.MapPost(Prefix + "/invocation/{requestId}/response", (HttpContext context, string requestId) =>
            PostAsync(new KestrelExchange(context), requestId, isError: false));
        app.MapPost(Prefix + "/invocation/{requestId}/error", (HttpContext context, string requestId) =>
            PostAsync(new KestrelExchange(context), requestId, isError: true));
        app.MapPost(Prefix + "/init/error", (HttpContext context) => InitErrorAsync(new KestrelExchange(context)));
    }

    /// <summary>Runs a matched route (<see cref="Match"/>).</summary>
    public Task HandleAsync(IRuntimeApiExchange exchange, RuntimeApiRoute route, string? requestId) => route switch
    {
        RuntimeApiRoute.Next => NextAsync(exchange),
        RuntimeApiRoute.Response => PostAsync(exchange, requestId!, isError: false),
        RuntimeApiRoute.Error => PostAsync(exchange, requestId!, isError: true),
        RuntimeApiRoute.InitError => InitErrorAsync(exchange),
        _ => throw new ArgumentOutOfRangeException(nameof(route), route, "Not a route to run."),
    };

    /// <summary>
    /// Matches a request's path (no query) as Kestrel's routing does: literals case-insensitive, one trailing slash
    /// allowed, the request id percent-decoded; a known path with another method is <see cref="RuntimeApiRoute.MethodNotAllowed"/>.
    /// </summary>
    public static RuntimeApiRoute Match(string method, ReadOnlySpan<char> path, out string? requestId)
    {
        requestId = null;
        if (!path.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return RuntimeApiRoute.NotFound;
        }

        var rest = path[Prefix.Length..];
        if (rest.Length > 1 && rest[^1] == '/')
        {
            rest = rest[..^1];
        }

        var get = method == "GET";
        var post = method == "POST";
        if (rest.Equals("/invocation/next", StringComparison.OrdinalIgnoreCase))
        {
            return get ? RuntimeApiRoute.Next : RuntimeApiRoute.MethodNotAllowed;
        }

        if (rest.Equals("/init/error", StringComparison.OrdinalIgnoreCase))
        {
            return post ? RuntimeApiRoute.InitError : RuntimeApiRoute.MethodNotAllowed;
        }

        const string invocation = "/invocation/";
        if (!rest.StartsWith(invocation, StringComparison.OrdinalIgnoreCase))
        {
            return RuntimeApiRoute.NotFound;
        }

        rest = rest[invocation.Length..];
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return RuntimeApiRoute.NotFound;
        }

        var action = rest[(slash + 1)..];
        var route = action.Equals("response", StringComparison.OrdinalIgnoreCase) ? RuntimeApiRoute.Response
            : action.Equals("error", StringComparison.OrdinalIgnoreCase) ? RuntimeApiRoute.Error
            : RuntimeApiRoute.NotFound;
        if (route == RuntimeApiRoute.NotFound)
        {
            return route;
        }

        if (!post)
        {
            return RuntimeApiRoute.MethodNotAllowed;
        }

        var id = rest[..slash];
        requestId = id.Contains('%') ? Uri.UnescapeDataString(id.ToString()) : id.ToString();
        return route;
    }

    private async Task NextAsync(IRuntimeApiExchange exchange)
    {
        supervisor.OnNextPolled();
        ActiveInvocation active;
        try
        {
            active = await slot.NextAsync(exchange.Aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        supervisor.OnInvocationDelivered();
        var invocation = active.Invocation;
        var headers = new List<KeyValuePair<string, string>>(6)
        {
            new("Lambda-Runtime-Aws-Request-Id", invocation.RequestId),
            new("Lambda-Runtime-Deadline-Ms", active.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
            new("Lambda-Runtime-Invoked-Function-Arn", invocation.InvokedFunctionArn),
        };
        if (invocation.TraceId is { Length: > 0 } trace)
        {
            headers.Add(new("Lambda-Runtime-Trace-Id", trace));
        }

        if (invocation.ClientContext is { Length: > 0 } clientContext)
        {
            headers.Add(new("Lambda-Runtime-Client-Context", clientContext));
        }

        if (invocation.CognitoIdentity is { Length: > 0 } identity)
        {
            headers.Add(new("Lambda-Runtime-Cognito-Identity", identity));
        }

        await exchange.RespondAsync(200, invocation.Payload, headers).ConfigureAwait(false);
    }

    private async Task PostAsync(IRuntimeApiExchange exchange, string requestId, bool isError)
    {
        if (!isError && StreamingResponse.IsStreaming(exchange))
        {
            await StreamingResponse.HandleAsync(exchange, requestId, options, slot, sink()).ConfigureAwait(false);
            return;
        }

        var body = await ReadCappedAsync(exchange, options.MaxResponseBytes, exchange.Aborted).ConfigureAwait(false);
        RuntimeReply reply = body is null
            ? new RuntimeReply(ReplyKind.TooLarge, [])
            : new RuntimeReply(isError ? ReplyKind.Error : ReplyKind.Response, body, isError ? ErrorTypeHeader(exchange) : null);

        switch (slot.TryComplete(requestId, reply))
        {
            case PostOutcome.UnknownRequestId:
                await ErrorAsync(exchange, 400, "InvalidRequestID", $"Invalid request ID: {requestId}").ConfigureAwait(false);
                return;
            case PostOutcome.AlreadyCompleted:
                await ErrorAsync(exchange, 403, "InvalidStateTransition", $"Invocation {requestId} already has a result.").ConfigureAwait(false);
                return;
        }

        if (reply.Kind == ReplyKind.TooLarge)
        {
            await ErrorAsync(exchange, 413, "RequestEntityTooLarge",
                $"Exceeded maximum allowed payload size ({options.MaxResponseBytes} bytes).").ConfigureAwait(false);
            return;
        }

        await exchange.RespondAsync(202, Accepted).ConfigureAwait(false);
    }

    private async Task InitErrorAsync(IRuntimeApiExchange exchange)
    {
        var body = await ReadCappedAsync(exchange, options.MaxResponseBytes, exchange.Aborted).ConfigureAwait(false) ?? [];
        var errorType = ErrorTypeHeader(exchange) ?? InvocationRunner.ErrorTypeFromBody(body) ?? "Runtime.Unknown";
        var message = ErrorMessageFromBody(body) ?? "The runtime reported an initialisation error.";
        if (!supervisor.OnInitError(new RuntimeFailure(errorType, message, body.Length > 0 && InvocationRunner.ErrorTypeFromBody(body) is not null ? body : null)))
        {
            await ErrorAsync(exchange, 403, "InvalidStateTransition", "The runtime is past initialisation.").ConfigureAwait(false);
            return;
        }

        await exchange.RespondAsync(202, Accepted).ConfigureAwait(false);
    }

    /// <summary>Reads the body up to <paramref name="limit"/> bytes; null when it is larger (the rest is drained, bounded).</summary>
    internal static async Task<byte[]?> ReadCappedAsync(IRuntimeApiExchange exchange, int limit, CancellationToken cancellationToken)
    {
        var request = exchange.Body;
        if (exchange.ContentLength is { } length && length <= limit)
        {
            var exact = new byte[length];
            await request.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await request.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > limit)
            {
                await DrainAsync(request, chunk, total, cancellationToken).ConfigureAwait(false);
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static async Task DrainAsync(Stream body, byte[] chunk, long total, CancellationToken cancellationToken)
    {
        int read;
        while (total < MaxDrainBytes && (read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }
    }

    private static string? ErrorTypeHeader(IRuntimeApiExchange exchange) =>
        exchange.Header("Lambda-Runtime-Function-Error-Type") is { Length: > 0 } text ? text : null;

    private static string? ErrorMessageFromBody(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("errorMessage", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>An error in Lambda's shape: <c>{"errorMessage":…,"errorType":…}</c>.</summary>
    internal static byte[] ErrorJson(string errorType, string message) => ShimJson.Object(new Dictionary<string, string>
    {
        ["errorMessage"] = message,
        ["errorType"] = errorType,
    });

    internal static Task ErrorAsync(IRuntimeApiExchange exchange, int status, string errorType, string message) =>
        exchange.RespondAsync(status, ErrorJson(errorType, message));
}
