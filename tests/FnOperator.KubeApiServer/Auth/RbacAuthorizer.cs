using System.Text.Json.Nodes;

namespace FnOperator.KubeApiServer;

/// <summary>What a SubjectAccessReview asks about: a user with groups doing verb on group/resource[/subresource] [name] in a namespace.</summary>
public sealed record AccessRequest(string User, IReadOnlyList<string> Groups, string Verb, string Group, string Resource, string? Subresource, string? Namespace, string? Name);

/// <summary>
/// Kubernetes RBAC evaluated over the stored Roles, RoleBindings, ClusterRoles and ClusterRoleBindings, as the
/// apiserver's RBAC authorizer does: ClusterRoleBindings grant everywhere, RoleBindings in their namespace (to a Role
/// there or a ClusterRole); subjects are User, Group and ServiceAccount (= user system:serviceaccount:ns:name); rules
/// match by verb, apiGroup, resource (or resource/subresource), optional resourceNames, with "*" wildcards. A ClusterRole
/// with an aggregationRule has the rules of every ClusterRole its selectors match (the aggregation controller's result,
/// computed at evaluation time). Deny-only rules do not exist in RBAC; anything not allowed is denied.
/// </summary>
public sealed class RbacAuthorizer(ObjectStore store)
{
    public const string Group = "rbac.authorization.k8s.io";

    public (bool Allowed, string Reason) Authorize(AccessRequest request)
    {
        foreach (var binding in store.List($"{Group}/clusterrolebindings", "").Items)
        {
            if (Matches(binding, request, bindingNamespace: null) && RulesOf(binding, null).Any(r => Allows(r, request)))
            {
                return (true, $"RBAC: allowed by ClusterRoleBinding \"{Name(binding)}\" of ClusterRole \"{(string?)binding["roleRef"]?["name"]}\" to {Subject(request)}");
            }
        }

        if (!string.IsNullOrEmpty(request.Namespace))
        {
            foreach (var binding in store.List($"{Group}/rolebindings", request.Namespace).Items)
            {
                if (Matches(binding, request, request.Namespace) && RulesOf(binding, request.Namespace).Any(r => Allows(r, request)))
                {
                    return (true, $"RBAC: allowed by RoleBinding \"{Name(binding)}/{request.Namespace}\" of {(string?)binding["roleRef"]?["kind"]} \"{(string?)binding["roleRef"]?["name"]}\" to {Subject(request)}");
                }
            }
        }

        return (false, "");
    }

    private static string Name(JsonObject obj) => (string?)obj["metadata"]?["name"] ?? "";

    private static string Subject(AccessRequest request) => $"User \"{request.User}\"";

    private static bool Matches(JsonObject binding, AccessRequest request, string? bindingNamespace) =>
        (binding["subjects"] as JsonArray ?? []).OfType<JsonObject>().Any(s => (string?)s["kind"] switch
        {
            "User" => (string?)s["name"] == request.User,
            "Group" => request.Groups.Contains((string?)s["name"] ?? ""),
            "ServiceAccount" => request.User == $"system:serviceaccount:{(string?)s["namespace"] ?? bindingNamespace}:{(string?)s["name"]}",
            _ => false,
        });

    private IEnumerable<JsonObject> RulesOf(JsonObject binding, string? ns)
    {
        var kind = (string?)binding["roleRef"]?["kind"];
        var name = (string?)binding["roleRef"]?["name"] ?? "";
        var role = kind switch
        {
            "ClusterRole" => store.Get($"{Group}/clusterroles", "", name),
            "Role" when ns is not null => store.Get($"{Group}/roles", ns, name),
            _ => null,
        };
        return role is null ? [] : kind == "ClusterRole" ? ClusterRoleRules(role) : Rules(role);
    }

    private IEnumerable<JsonObject> ClusterRoleRules(JsonObject role)
    {
        if (role["aggregationRule"]?["clusterRoleSelectors"] is not JsonArray selectors)
        {
            return Rules(role);
        }

        var parsed = selectors.OfType<JsonObject>().Select(Selector).ToList();
        return store.List($"{Group}/clusterroles", "").Items
            .Where(r => r["aggregationRule"] is null && parsed.Any(s => s.Matches(r)))
            .SelectMany(Rules);
    }

    private static LabelSelector Selector(JsonObject selector)
    {
        var terms = new List<string>();
        if (LabelSelector.FromMatchLabels(selector["matchLabels"] as JsonObject) is { Length: > 0 } labels)
        {
            terms.Add(labels);
        }

        foreach (var e in (selector["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = (string?)e["key"];
            var values = string.Join(",", (e["values"] as JsonArray ?? []).Select(v => (string?)v));
            terms.Add((string?)e["operator"] switch
            {
                "In" => $"{key} in ({values})",
                "NotIn" => $"{key} notin ({values})",
                "Exists" => key!,
                _ => $"!{key}",
            });
        }

        // An empty selector selects nothing in aggregation (unlike list selectors).
        return terms.Count == 0 ? LabelSelector.Parse("fnoperator.test/never-matches") : LabelSelector.Parse(string.Join(",", terms));
    }

    private static IEnumerable<JsonObject> Rules(JsonObject role) => (role["rules"] as JsonArray ?? []).OfType<JsonObject>();

    private static bool Allows(JsonObject rule, AccessRequest request)
    {
        static bool Has(JsonNode? list, string value) => (list as JsonArray ?? []).Any(v => (string?)v == value || (string?)v == "*");
        var resource = request.Subresource is { Length: > 0 } sub ? $"{request.Resource}/{sub}" : request.Resource;
        var names = rule["resourceNames"] as JsonArray;
        return Has(rule["verbs"], request.Verb)
            && Has(rule["apiGroups"], request.Group)
            && Has(rule["resources"], resource)
            && (names is null || names.Count == 0 || (!string.IsNullOrEmpty(request.Name) && names.Any(n => (string?)n == request.Name)));
    }
}
