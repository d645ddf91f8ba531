using System.Text.Json.Nodes;
using FnOperator.Gateway.Api;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// AWS's authentication and authorization errors, worded as Lambda answers them (sources in docs/security.md):
/// header x-amzn-ErrorType and a JSON body with the message.
/// </summary>
public static class AuthErrors
{
    public const string InvalidSignature = "InvalidSignatureException";
    public const string UnrecognizedClient = "UnrecognizedClientException";
    public const string IncompleteSignature = "IncompleteSignatureException";
    public const string MissingAuthenticationToken = "MissingAuthenticationTokenException";
    public const string AccessDenied = "AccessDeniedException";

    public const string InvalidSignatureMessage =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

    public const string UnrecognizedClientMessage = "The security token included in the request is invalid.";
    public const string MissingAuthenticationTokenMessage = "Missing Authentication Token";

    /// <summary>403 with the error type; the body key is "message" as Lambda's signature errors have it.</summary>
    public static IResult Forbidden(string errorType, string message) => new AuthError(403, errorType, new JsonObject { ["message"] = message });

    /// <summary>
    /// Lambda's denial, e.g. "User: system:serviceaccount:team:caller is not authorized to perform:
    /// lambda:InvokeFunction on resource: arn:aws:lambda:…:function:team.hello because no RBAC rule allows verb
    /// invoke on functions.fnoperator.io"; Lambda's body key here is "Message".
    /// </summary>
    public static IResult Denied(CallerIdentity caller, LambdaOperation operation, string? reason)
    {
        var resource = operation.FunctionArn ?? $"namespace {operation.Namespace ?? "(all)"}";
        var scope = operation.Namespace is null ? "cluster-wide" : $"in namespace {operation.Namespace}";
        var message = $"User: {caller.UserName} is not authorized to perform: {operation.Action} on resource: {resource} because no RBAC rule allows verb {operation.Verb} on {operation.Resource}.{LambdaOperation.Group} {scope}"
            + (string.IsNullOrEmpty(reason) ? "" : $" ({reason})");
        return new AuthError(403, AccessDenied, new JsonObject { ["Message"] = message });
    }

    /// <summary>429 for a source that failed authentication too often.</summary>
    public static IResult TooManyFailures() =>
        LambdaErrors.Error(429, "TooManyRequestsException", "Too many failed authentication attempts from this address; try again later.", new JsonObject { ["Reason"] = "AuthenticationFailuresExceeded" });

    private sealed class AuthError(int status, string errorType, JsonObject body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers[LambdaErrors.ErrorTypeHeader] = errorType;
            httpContext.Response.ContentType = "application/json";
            return httpContext.Response.WriteAsync(body.ToJsonString(), httpContext.RequestAborted);
        }
    }
}
