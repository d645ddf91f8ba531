using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>
/// The Lambda control-plane calls the gateway serves for versions and aliases (<see cref="VersionEndpoints"/>,
/// <see cref="AliasEndpoints"/>), and Lambda-shaped answers for every other Lambda API call: 501 with a message that
/// names the operation, says FnOperator does not implement it and what to use instead.
/// </summary>
public static class LambdaApiEndpoints
{
    public const string NotImplementedType = "NotImplementedException";

    private const string Manifests = "apply a Function manifest instead (kubectl apply -f function.yaml in a cluster; in local mode, edit the manifest in the functions folder)";

    /// <summary>
    /// Unserved operations by method and path shape ({fn} = one segment; Exact: the path itself, not what is below it):
    /// what to use instead. The first match wins.
    /// </summary>
    private static readonly (bool Exact, string Method, string Prefix, string Suffix, string Operation, string Instead)[] Unserved =
    [
        (true, "POST", "/2015-03-31/functions", "", "CreateFunction", Manifests),
        (false, "PUT", "/2015-03-31/functions/", "/code", "UpdateFunctionCode", "change spec.code of the Function (a new url + sha256, ConfigMap or image), or edit the code folder in local mode"),
        (false, "PUT", "/2015-03-31/functions/", "/configuration", "UpdateFunctionConfiguration", "change the Function's spec (kubectl apply / kubectl edit function)"),
        (false, "DELETE", "/2015-03-31/functions/", "", "DeleteFunction", "kubectl delete function <name> (versions and aliases go with it); one published version is deleted with --qualifier <N>"),
        (false, "GET", "/2015-03-31/functions/", "/policy", "GetPolicy", "Kubernetes RBAC: the invoke verb on functions.fnoperator.io (docs/security.md)"),
        (false, "POST", "/2015-03-31/functions/", "/policy", "AddPermission", "Kubernetes RBAC: the invoke verb on functions.fnoperator.io (docs/security.md)"),
        (false, "", "/2015-03-31/event-source-mappings", "", "EventSourceMapping", "an EventSourceMapping manifest (kubectl apply -f)"),
        (false, "", "/2018-10-31/layers", "", "Layer", "a Layer manifest (kubectl apply -f) and spec.layers of the Function"),
        (false, "", "/2017-10-31/functions/", "/concurrency", "FunctionConcurrency", "spec.concurrency.reserved of the Function"),
        (false, "", "/2019-09-30/functions/", "/provisioned-concurrency", "ProvisionedConcurrencyConfig", "spec.concurrency.provisioned of the Function (published versions keep theirs)"),
        (false, "", "/2019-09-25/functions/", "/event-invoke-config", "FunctionEventInvokeConfig", "spec.async of the Function (retries, maximum event age, destinations)"),
        (false, "", "/2021-10-31/functions/", "/url", "FunctionUrlConfig", "the gateway's function URLs (docs/gateway.md)"),
        (false, "", "/2021-11-15/functions/", "/response-streaming-invocations", "InvokeWithResponseStream", "Invoke (buffered responses)"),
        (false, "", "/2017-03-31/tags", "", "Tags", "labels and annotations on the Function (kubectl label / annotate)"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        VersionEndpoints.Map(app);
        AliasEndpoints.Map(app);
        VersionDeleteEndpoints.Map(app);
        // No regex route constraint: the slim builder does not register it. Lambda API paths start with a date.
        app.Map("/{date}/{**rest}", (string date, HttpContext context) => IsApiDate(date)
            ? NotImplemented(context.Request.Method, context.Request.Path)
            : Results.NotFound());
    }

    /// <summary>The Lambda-shaped answer to a Lambda API call FnOperator does not serve.</summary>
    public static IResult NotImplemented(string method, string path)
    {
        foreach (var (exact, m, prefix, suffix, operation, instead) in Unserved)
        {
            if ((m.Length == 0 || m == method) && (exact ? path.TrimEnd('/') == prefix : Matches(path, prefix, suffix)))
            {
                return LambdaErrors.Error(501, NotImplementedType, $"FnOperator does not implement {operation} ({method} {path}); {instead}.");
            }
        }

        return LambdaErrors.Error(501, NotImplementedType,
            $"FnOperator does not implement this Lambda API call ({method} {path}); the gateway serves Invoke, GetFunction, GetFunctionConfiguration, " +
            "ListFunctions, PublishVersion, ListVersionsByFunction, DeleteFunction with a qualifier and the alias calls; manage everything else with Kubernetes manifests (docs/versions.md).");
    }

    private static bool IsApiDate(string segment) =>
        segment.Length == 10 && segment[4] == '-' && segment[7] == '-' && segment.Where((c, i) => i is not (4 or 7)).All(char.IsAsciiDigit);

    private static bool Matches(string path, string prefix, string suffix)
    {
        if (suffix.Length == 0)
        {
            return prefix.EndsWith('/')
                ? path.StartsWith(prefix, StringComparison.Ordinal) && !path[prefix.Length..].Contains('/', StringComparison.Ordinal)
                : path == prefix || path == prefix + "/" || path.StartsWith(prefix + "/", StringComparison.Ordinal);
        }

        return path.StartsWith(prefix, StringComparison.Ordinal) && path.EndsWith(suffix, StringComparison.Ordinal);
    }

    /// <summary>The registered function a FunctionName (name, namespace/name, namespace.name, ARN; a qualifier is ignored) denotes.</summary>
    public static bool TryFind(FunctionRegistry functions, string functionName, out FunctionKey key)
    {
        key = null!;
        if (!FunctionNameParser.TryParse(Unescape(functionName), out var parsed))
        {
            return false;
        }

        foreach (var candidate in parsed.Candidates)
        {
            if (functions.Contains(candidate))
            {
                key = candidate;
                return true;
            }
        }

        return false;
    }

    public static string Unescape(string functionName) => functionName.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>Lambda's 404 for a function name that is not registered.</summary>
    public static IResult FunctionNotFound(FunctionRegistry functions, string functionName, string? qualifier = null)
    {
        var name = Unescape(functionName);
        var arn = name.StartsWith("arn:", StringComparison.Ordinal) ? name : $"arn:aws:lambda:{functions.Region}:{functions.AccountId}:function:{name}";
        return LambdaErrors.NotFound(string.IsNullOrEmpty(qualifier) ? arn : $"{arn}:{qualifier}");
    }
}
