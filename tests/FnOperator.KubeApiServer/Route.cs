namespace FnOperator.KubeApiServer;

/// <summary>A parsed API path: /api/v1/… or /apis/{group}/{version}/…, namespaced or cluster-wide.</summary>
public sealed record Route(string Group, string Version, string ResourceName, string? Ns, string? Name, string? Subresource)
{
    public string Resource => $"{(Group.Length == 0 ? "core" : Group)}/{Version}/{ResourceName}";

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string Kind => ResourceName switch
    {
        "deployments" => "Deployment",
        "configmaps" => "ConfigMap",
        "leases" => "Lease",
        "functions" => "Function",
        _ => ResourceName,
    };

    public static Route? Parse(string path)
    {
        var parts = path.Trim('/').Split('/');
        string group, version;
        int rest;
        if (parts.Length >= 2 && parts[0] == "api")
        {
            (group, version, rest) = ("", parts[1], 2);
        }
        else if (parts.Length >= 3 && parts[0] == "apis")
        {
            (group, version, rest) = (parts[1], parts[2], 3);
        }
        else
        {
            return null;
        }

        var tail = parts[rest..];
        return tail switch
        {
            ["namespaces", var ns, var resource] => new Route(group, version, resource, ns, null, null),
            ["namespaces", var ns, var resource, var name] => new Route(group, version, resource, ns, name, null),
            ["namespaces", var ns, var resource, var name, var sub] => new Route(group, version, resource, ns, name, sub),
            [var resource] => new Route(group, version, resource, null, null, null),
            _ => null,
        };
    }
}
