using System.Security.Cryptography;
using FnOperator.Gateway.Api;
using FnOperator.Gateway.Auth;
using Microsoft.AspNetCore.Http.Features;

namespace FnOperator.Gateway.Urls;

/// <summary>
/// authType AWS_IAM: the request must be SigV4-signed (service lambda, the gateway's region) with a key the gateway
/// knows (Gateway/Auth's key store: the credentials file with --auth sigv4, labelled Secrets in a cluster); with
/// invokeAuth required the caller also needs verb invoke on the function (SubjectAccessReview), as for the Invoke API.
/// With invoke auth off there is no key to check against, so AWS_IAM URLs refuse every request (they are never served open).
/// </summary>
public sealed class UrlAuth(IServiceProvider services, GatewayOptions gateway, TimeProvider time)
{
    private readonly SigV4Verifier? verifier = services.GetService<IAccessKeyStore>() is { } keys
        ? new SigV4Verifier(new SigV4Settings(gateway.Region) { MaxSkew = gateway.Auth.MaxSkew, AllowUnsignedPayload = gateway.Auth.AllowUnsignedPayload }, keys)
        : null;

    private readonly IInvokeAuthorizer? authorizer = gateway.Auth.Mode == AuthMode.Required ? services.GetService<IInvokeAuthorizer>() : null;
    private readonly FailureLimiter? limiter = services.GetService<FailureLimiter>();

    /// <summary>The verified caller, or the 403 to answer.</summary>
    public async Task<(UrlCaller? Caller, IResult? Failure)> AuthenticateAsync(HttpContext context, Functions.FunctionKey key, string functionArn, byte[] body)
    {
        if (verifier is null)
        {
            return (null, Forbidden("This Function URL's authType is AWS_IAM, but this gateway verifies no signatures (invoke auth is off). " +
                "Start local mode with --auth sigv4 --credentials FILE, or set spec.url.authType NONE."));
        }

        var source = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (limiter?.IsBlocked(source) == true)
        {
            return (null, AuthErrors.TooManyFailures());
        }

        var request = Signed(context);
        if (!request.IsSigV4)
        {
            return (null, Forbidden("Forbidden: this Function URL's authType is AWS_IAM; sign the request with AWS Signature Version 4 (service lambda)."));
        }

        var result = await verifier.VerifyAsync(request, SigV4Canonical.Hex(SHA256.HashData(body)), time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        if (result.Key is not { } accessKey)
        {
            limiter?.Failed(source);
            return (null, AuthErrors.Forbidden(result.ErrorType!, result.Message!));
        }

        var caller = new CallerIdentity(accessKey.UserName, accessKey.Groups, "sigv4");
        if (authorizer is not null)
        {
            var operation = new LambdaOperation("lambda:InvokeFunctionUrl", "invoke", "functions", key.Namespace, key.Name, functionArn);
            var (allowed, reason) = await authorizer.AuthorizeAsync(caller, operation, context.RequestAborted).ConfigureAwait(false);
            if (!allowed)
            {
                return (null, AuthErrors.Denied(caller, operation, reason));
            }
        }

        return (new UrlCaller(accessKey.AccessKeyId, gateway.AccountId, accessKey.UserName), null);
    }

    /// <summary>Lambda's answer to an unsigned or unverifiable request to an AWS_IAM URL: 403 AccessDeniedException.</summary>
    private static IResult Forbidden(string message) =>
        LambdaErrors.Error(403, AuthErrors.AccessDenied, message);

    private static SignedRequest Signed(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (context.Request.PathBase + context.Request.Path + context.Request.QueryString);
        var question = raw.IndexOf('?', StringComparison.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                headers.Add(KeyValuePair.Create(name, value ?? ""));
            }
        }

        return new SignedRequest(context.Request.Method, question < 0 ? raw : raw[..question], question < 0 ? "" : raw[(question + 1)..], headers);
    }
}
