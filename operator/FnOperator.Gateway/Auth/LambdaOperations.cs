using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Auth;

/// <summary>
/// What a Lambda API call asks to do, in RBAC terms: verb on resource (functions or aliases, group fnoperator.io) in a
/// namespace, optionally one named object. <see cref="Action"/> is the IAM action, for Lambda-shaped denial messages.
/// </summary>
public sealed record LambdaOperation(string Action, string Verb, string Resource, string? Namespace, string? Name, string? FunctionArn)
{
    public const string Group = "fnoperator.io";
}

/// <summary>
/// Maps Lambda REST API routes to RBAC verbs: Invoke → invoke; Get/List → get/list; Create/Update/Delete and the
/// config writes (concurrency, event invoke config, publish version) → create/update/delete on functions;
/// CreateAlias/UpdateAlias/DeleteAlias → create/update/delete on aliases. Null for routes that are not Lambda calls.
/// </summary>
public static class LambdaOperations
{
    public static LambdaOperation? Match(string method, string path, FunctionRegistry functions)
    {
        var parts = path.Trim('/').Split('/');
        if (parts.Length < 2 || parts[0] is not ("2015-03-31" or "2014-11-13" or "2017-10-31" or "2019-09-25" or "2019-09-30" or "2021-11-15") || parts[1] != "functions")
        {
            return null;
        }

        if (parts.Length == 2 || (parts.Length == 3 && parts[2].Length == 0))
        {
            return method switch
            {
                "GET" => new LambdaOperation("lambda:ListFunctions", "list", "functions", null, null, null),
                "POST" => new LambdaOperation("lambda:CreateFunction", "create", "functions", null, null, null),
                _ => null,
            };
        }

        // The gateway also serves /functions/{namespace}/{name}/…: a second segment that is not a Lambda sub-resource is the name.
        var namespaced = parts.Length >= 4 && parts[3].Length > 0 && !SubResources.Contains(parts[3]);
        var (ns, name, arn) = Locate(Uri.UnescapeDataString(namespaced ? $"{parts[2]}/{parts[3]}" : parts[2]), functions);
        var rest = parts[(namespaced ? 4 : 3)..].Where(p => p.Length > 0).ToArray();
        LambdaOperation Fn(string action, string verb, bool named = true) => new(action, verb, "functions", ns, named ? name : null, arn);
        // Alias objects have their own metadata.name (spec.name is the qualifier), so alias calls are not name-scoped.
        LambdaOperation Alias(string action, string verb, string? alias) => new(action, verb, "aliases", ns, null, arn);
        return (method, rest) switch
        {
            ("POST", ["invocations"]) or ("POST", ["invoke-async"]) or ("POST", ["response-streaming-invocations"]) => Fn("lambda:InvokeFunction", "invoke"),
            ("GET", []) or ("GET", ["configuration"]) or ("GET", ["versions"]) or ("GET", ["concurrency"]) or ("GET", ["event-invoke-config"]) => Fn("lambda:GetFunction", "get"),
            ("PUT", ["configuration"]) => Fn("lambda:UpdateFunctionConfiguration", "update"),
            ("PUT", ["code"]) => Fn("lambda:UpdateFunctionCode", "update"),
            ("POST", ["versions"]) => Fn("lambda:PublishVersion", "update"),
            ("PUT" or "DELETE", ["concurrency"]) => Fn("lambda:PutFunctionConcurrency", "update"),
            ("PUT" or "POST" or "DELETE", ["event-invoke-config"]) => Fn("lambda:PutFunctionEventInvokeConfig", "update"),
            ("DELETE", []) => Fn("lambda:DeleteFunction", "delete"),
            ("GET", ["aliases"]) => Alias("lambda:ListAliases", "list", null),
            ("POST", ["aliases"]) => Alias("lambda:CreateAlias", "create", null),
            ("GET", ["aliases", var a]) => Alias("lambda:GetAlias", "get", a),
            ("PUT", ["aliases", var a]) => Alias("lambda:UpdateAlias", "update", a),
            ("DELETE", ["aliases", var a]) => Alias("lambda:DeleteAlias", "delete", a),
            // A Lambda route not in this table needs cluster-wide get: new routes are never open by omission.
            _ => new LambdaOperation("lambda:" + string.Join('/', rest), "get", "functions", null, null, null),
        };
    }

    private static readonly HashSet<string> SubResources = new(StringComparer.Ordinal)
    {
        "invocations", "invoke-async", "response-streaming-invocations", "configuration", "code", "versions", "concurrency", "event-invoke-config", "aliases", "policy", "url",
    };

    /// <summary>
    /// The function's namespace and name as the Invoke API would resolve it: the registry decides between
    /// "a.b" in default and b in namespace a; an unknown name takes its most specific reading.
    /// </summary>
    private static (string Namespace, string Name, string? Arn) Locate(string functionName, FunctionRegistry functions)
    {
        if (functions.TryResolve(functionName, null, out var resolved))
        {
            return (resolved.Key.Namespace, resolved.Key.Name, functions.ArnOf(resolved.Key));
        }

        if (FunctionNameParser.TryParse(functionName, out var parsed))
        {
            var key = parsed.Candidates[^1];
            return (key.Namespace, key.Name, functions.ArnOf(key));
        }

        return (FunctionKey.DefaultNamespace, functionName, null);
    }
}
