namespace FnOperator.Operator;

/// <summary>The Function URL condition (informational: a URL problem does not make the function unready, its Invoke API still works) and its reasons.</summary>
public static class FunctionUrlReasons
{
    /// <summary>Condition type: the URL in status.functionUrl is served (and published, when the operator publishes URLs).</summary>
    public const string UrlReady = "UrlReady";

    /// <summary>True: the Ingress or HTTPRoute for the URL is in place.</summary>
    public const string UrlPublished = "UrlPublished";

    /// <summary>True: the operator publishes nothing (Operator:Urls:Publish None); the gateway serves the URL to whoever routes to it.</summary>
    public const string PublishDisabled = "PublishDisabled";

    /// <summary>False: url.qualifier names no Alias of the function.</summary>
    public const string AliasNotFound = "AliasNotFound";

    /// <summary>False: the URL cannot exist as asked (a numbered qualifier, a function name that is no DNS label).</summary>
    public const string InvalidUrl = "InvalidUrl";

    /// <summary>False: an Ingress/HTTPRoute of the URL's name exists and is not the operator's.</summary>
    public const string UrlConflict = "UrlConflict";

    /// <summary>False: a Gateway reports the HTTPRoute not Accepted (or its refs not resolved) in the route's status.</summary>
    public const string RouteNotAccepted = "RouteNotAccepted";

    // Events
    public const string CreatedIngress = "CreatedIngress";
    public const string UpdatedIngress = "UpdatedIngress";
    public const string DeletedIngress = "DeletedIngress";
    public const string CreatedHttpRoute = "CreatedHTTPRoute";
    public const string UpdatedHttpRoute = "UpdatedHTTPRoute";
    public const string DeletedHttpRoute = "DeletedHTTPRoute";
}
