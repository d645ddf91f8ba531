using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Models;

namespace FnOperator.Gateway.Auth;

/// <summary>Verifies a bearer token (a ServiceAccount token) with a TokenReview; successes are cached briefly by the token's hash.</summary>
public interface ITokenReviewer
{
    Task<CallerIdentity?> ReviewAsync(string token, CancellationToken cancellationToken);
}

/// <summary>Decides whether a caller may do an operation (SubjectAccessReview), cached for a short TTL.</summary>
public interface IInvokeAuthorizer
{
    Task<(bool Allowed, string? Reason)> AuthorizeAsync(CallerIdentity caller, LambdaOperation operation, CancellationToken cancellationToken);
}

public sealed class KubernetesTokenReviewer(IKubernetes client, AuthOptions options, TimeProvider time) : ITokenReviewer
{
    private readonly TtlCache<string, CallerIdentity> cache = new(options.CacheCapacity, options.TokenCacheTtl, time);

    public async Task<CallerIdentity?> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        // The cache key is a hash: the token itself is never kept or logged.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (cache.TryGet(key, out var cached))
        {
            return cached;
        }

        var review = await client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview { Spec = new V1TokenReviewSpec { Token = token } }, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (review.Status?.Authenticated != true || string.IsNullOrEmpty(review.Status.User?.Username))
        {
            return null;
        }

        var identity = new CallerIdentity(review.Status.User.Username, [.. review.Status.User.Groups ?? []], "bearer");
        cache.Set(key, identity);
        return identity;
    }
}

public sealed class KubernetesInvokeAuthorizer(IKubernetes client, AuthOptions options, TimeProvider time) : IInvokeAuthorizer
{
    private readonly TtlCache<string, (bool, string?)> cache = new(options.CacheCapacity, options.DecisionCacheTtl, time);

    public async Task<(bool Allowed, string? Reason)> AuthorizeAsync(CallerIdentity caller, LambdaOperation operation, CancellationToken cancellationToken)
    {
        var key = string.Join('\n', caller.UserName, string.Join(',', caller.Groups.Order(StringComparer.Ordinal)), operation.Verb, operation.Resource, operation.Namespace, operation.Name);
        if (cache.TryGet(key, out var decision))
        {
            return decision;
        }

        var review = new V1SubjectAccessReview
        {
            Spec = new V1SubjectAccessReviewSpec
            {
                User = caller.UserName,
                Groups = [.. caller.Groups],
                ResourceAttributes = new V1ResourceAttributes
                {
                    Group = LambdaOperation.Group,
                    Resource = operation.Resource,
                    Verb = operation.Verb,
                    NamespaceProperty = operation.Namespace ?? "",
                    Name = operation.Name,
                },
            },
        };
        var answer = await client.AuthorizationV1.CreateSubjectAccessReviewAsync(review, cancellationToken: cancellationToken).ConfigureAwait(false);
        decision = (answer.Status?.Allowed == true && answer.Status.Denied != true, answer.Status?.Reason);
        cache.Set(key, decision);
        return decision;
    }
}
