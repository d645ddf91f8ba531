namespace FnOperator.KubeApiServer;

/// <summary>
/// A parsed API path: /api/v1/… or /apis/{group}/{version}/…, namespaced (/namespaces/{ns}/{resource}[/{name}[/{sub}]])
/// or cluster-wide (/{resource}[/{name}[/{sub}]]).
/// </summary>
public sealed record Route(string Group, string Version, string ResourceName, string? Ns, string? Name, string? Subresource)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

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
            // the namespace object itself: /api/v1/namespaces/{name}[/status|/finalize]
            ["namespaces", var name] when group.Length == 0 => new Route(group, version, "namespaces", null, name, null),
            ["namespaces", var name, "status" or "finalize"] when group.Length == 0 => new Route(group, version, "namespaces", null, name, tail[2]),
            ["namespaces", var ns, var resource] => new Route(group, version, resource, ns, null, null),
            ["namespaces", var ns, var resource, var name] => new Route(group, version, resource, ns, name, null),
            ["namespaces", var ns, var resource, var name, var sub] => new Route(group, version, resource, ns, name, sub),
            [var resource] => new Route(group, version, resource, null, null, null),
            [var resource, var name] => new Route(group, version, resource, null, name, null),
            [var resource, var name, var sub] => new Route(group, version, resource, null, name, sub),
            _ => null,
        };
    }
}
