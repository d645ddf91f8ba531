using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace FnOperator.KubeApiServer;

/// <summary>
/// The review APIs a gateway calls: TokenReview (authentication.k8s.io/v1) for tokens this server issued, through the
/// TokenRequest subresource (POST serviceaccounts/{name}/token) or <see cref="KubeApiTestServer.IssueToken"/>; and
/// SubjectAccessReview (authorization.k8s.io/v1) answered by <see cref="RbacAuthorizer"/> from the stored RBAC objects.
/// Reviews are create-only and not stored, as on a real apiserver.
/// </summary>
public sealed class ReviewHandlers(ObjectStore store)
{
    private readonly ConcurrentDictionary<string, (string User, string[] Groups)> tokens = new(StringComparer.Ordinal);
    private readonly RbacAuthorizer rbac = new(store);
    private int tokenReviews;
    private int accessReviews;

    public int TokenReviews => tokenReviews;

    public int SubjectAccessReviews => accessReviews;

    public RbacAuthorizer Rbac => rbac;

    /// <summary>A new opaque token for a user (ServiceAccount users get their system:serviceaccounts groups).</summary>
    public string Issue(string user, IEnumerable<string>? groups = null)
    {
        var token = "fnop-test-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var all = (groups ?? []).ToList();
        if (user.StartsWith("system:serviceaccount:", StringComparison.Ordinal))
        {
            all.AddRange(["system:serviceaccounts", $"system:serviceaccounts:{user.Split(':')[2]}"]);
        }

        all.Add("system:authenticated");
        tokens[token] = (user, [.. all.Distinct(StringComparer.Ordinal)]);
        return token;
    }

    public void Revoke(string token) => tokens.TryRemove(token, out _);

    public async Task<bool> TryHandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value?.TrimEnd('/') ?? "";
        if (context.Request.Method != "POST")
        {
            return false;
        }

        if (path == "/apis/authentication.k8s.io/v1/tokenreviews")
        {
            Interlocked.Increment(ref tokenReviews);
            var review = await HttpIo.ReadObjectAsync(context);
            var token = (string?)review["spec"]?["token"] ?? "";
            review["status"] = tokens.TryGetValue(token, out var who)
                ? new JsonObject { ["authenticated"] = true, ["user"] = new JsonObject { ["username"] = who.User, ["uid"] = Guid.NewGuid().ToString(), ["groups"] = new JsonArray([.. who.Groups.Select(g => (JsonNode)g)]) } }
                : new JsonObject { ["authenticated"] = false, ["error"] = "[invalid bearer token, token lookup failed]" };
            await HttpIo.WriteJsonAsync(context, HttpStatusCode.Created, Kind(review, "authentication.k8s.io/v1", "TokenReview"));
            return true;
        }

        if (path == "/apis/authorization.k8s.io/v1/subjectaccessreviews")
        {
            Interlocked.Increment(ref accessReviews);
            var review = await HttpIo.ReadObjectAsync(context);
            var spec = review["spec"] as JsonObject ?? throw ApiException.BadRequest("spec is required");
            var attributes = spec["resourceAttributes"] as JsonObject;
            var (allowed, reason) = attributes is null
                ? (false, "nonResourceAttributes are not evaluated by the test server")
                : rbac.Authorize(new AccessRequest((string?)spec["user"] ?? "", [.. (spec["groups"] as JsonArray ?? []).Select(g => (string?)g ?? "")],
                    (string?)attributes["verb"] ?? "", (string?)attributes["group"] ?? "", (string?)attributes["resource"] ?? "", (string?)attributes["subresource"],
                    (string?)attributes["namespace"], (string?)attributes["name"]));
            review["status"] = new JsonObject { ["allowed"] = allowed, ["reason"] = reason };
            await HttpIo.WriteJsonAsync(context, HttpStatusCode.Created, Kind(review, "authorization.k8s.io/v1", "SubjectAccessReview"));
            return true;
        }

        var route = Route.Parse(path);
        if (route is { Group: "", ResourceName: "serviceaccounts", Subresource: "token", Ns: { } ns, Name: { } name })
        {
            if (store.Get("core/serviceaccounts", ns, name) is null)
            {
                throw new ApiException(HttpStatusCode.NotFound, "NotFound", $"serviceaccounts \"{name}\" not found");
            }

            var request = await HttpIo.ReadJsonAsync(context) as JsonObject ?? [];
            var seconds = (long?)request["spec"]?["expirationSeconds"] ?? 3600;
            request["status"] = new JsonObject
            {
                ["token"] = Issue($"system:serviceaccount:{ns}:{name}"),
                ["expirationTimestamp"] = DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            };
            await HttpIo.WriteJsonAsync(context, HttpStatusCode.Created, Kind(request, "authentication.k8s.io/v1", "TokenRequest"));
            return true;
        }

        return false;
    }

    private static JsonObject Kind(JsonObject obj, string apiVersion, string kind)
    {
        obj["apiVersion"] = apiVersion;
        obj["kind"] = kind;
        return obj;
    }
}
