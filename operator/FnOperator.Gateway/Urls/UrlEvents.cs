using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using FnOperator.Api;

namespace FnOperator.Gateway.Urls;

/// <summary>Who signed an AWS_IAM request, for requestContext.authorizer.iam (2.0) or requestContext.identity (1.0).</summary>
public sealed record UrlCaller(string AccessKey, string AccountId, string UserName)
{
    /// <summary>The IAM-style ARN the caller is shown as: arn:aws:iam::{account}:user/{Kubernetes user name}.</summary>
    public string UserArn => $"arn:aws:iam::{AccountId}:user/{UserName}";
}

/// <summary>
/// Builds the event a Function URL hands the function, in the URL's payload format (docs/function-urls.md "Events"):
/// 2.0 as Lambda's Function URLs and API Gateway HTTP APIs, 1.0 as the API Gateway REST proxy integration, alb as an
/// Application Load Balancer target (single-value headers, its default).
/// </summary>
public static class UrlEvents
{
    /// <summary>The function's name stands in for Lambda's url-id in apiId (and domainPrefix on path-based URLs).</summary>
    public static JsonObject Build(string format, UrlRequest request, string apiId, string accountId, string region, UrlCaller? caller) => format switch
    {
        FunctionUrls.Format10 => Build10(request, apiId, accountId, caller),
        FunctionUrls.FormatAlb => BuildAlb(request, apiId, accountId, region),
        _ => Build20(request, apiId, accountId, caller),
    };

    public static JsonObject Build20(UrlRequest request, string apiId, string accountId, UrlCaller? caller)
    {
        var headers = new JsonObject();
        var cookies = new JsonArray();
        foreach (var group in WithForwarded(request).GroupBy(h => h.Key.ToLowerInvariant()))
        {
            if (group.Key == "cookie")
            {
                foreach (var cookie in group.SelectMany(c => c.Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    cookies.Add(cookie);
                }

                continue;
            }

            headers[group.Key] = string.Join(',', group.Select(h => h.Value));
        }

        var ev = new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = "$default",
            ["rawPath"] = request.RawPath,
            ["rawQueryString"] = request.RawQuery,
        };
        if (cookies.Count > 0)
        {
            ev["cookies"] = cookies;
        }

        ev["headers"] = headers;
        var query = request.QueryPairs();
        if (query.Count > 0)
        {
            var parameters = new JsonObject();
            foreach (var group in query.GroupBy(p => p.Key, StringComparer.Ordinal))
            {
                parameters[group.Key] = string.Join(',', group.Select(p => p.Value));
            }

            ev["queryStringParameters"] = parameters;
        }

        var context = new JsonObject
        {
            ["accountId"] = caller is null ? "anonymous" : accountId,
            ["apiId"] = apiId,
        };
        if (caller is not null)
        {
            context["authorizer"] = new JsonObject
            {
                ["iam"] = new JsonObject
                {
                    ["accessKey"] = caller.AccessKey,
                    ["accountId"] = caller.AccountId,
                    ["callerId"] = caller.UserName,
                    ["cognitoIdentity"] = null,
                    ["principalOrgId"] = null,
                    ["userArn"] = caller.UserArn,
                    ["userId"] = caller.UserName,
                },
            };
        }

        context["domainName"] = request.DomainName;
        context["domainPrefix"] = DomainPrefix(request.DomainName);
        context["http"] = new JsonObject
        {
            ["method"] = request.Method,
            ["path"] = request.RawPath,
            ["protocol"] = request.Protocol,
            ["sourceIp"] = request.SourceIp,
            ["userAgent"] = Header(request, "user-agent") ?? "",
        };
        context["requestId"] = request.RequestId;
        context["routeKey"] = "$default";
        context["stage"] = "$default";
        context["time"] = ClfTime(request.Time);
        context["timeEpoch"] = request.Time.ToUnixTimeMilliseconds();
        ev["requestContext"] = context;
        AddBody(ev, request, emptyAsString: false);
        return ev;
    }

    public static JsonObject Build10(UrlRequest request, string apiId, string accountId, UrlCaller? caller)
    {
        var all = WithForwarded(request);
        var headers = new JsonObject();
        var multiHeaders = new JsonObject();
        foreach (var group in all.GroupBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            var name = group.First().Key;
            headers[name] = group.Last().Value;
            multiHeaders[name] = new JsonArray(group.Select(h => (JsonNode?)JsonValue.Create(h.Value)).ToArray());
        }

        var query = request.QueryPairs();
        JsonObject? single = null, multi = null;
        if (query.Count > 0)
        {
            single = [];
            multi = [];
            foreach (var group in query.GroupBy(p => p.Key, StringComparer.Ordinal))
            {
                single[group.Key] = group.Last().Value;
                multi[group.Key] = new JsonArray(group.Select(p => (JsonNode?)JsonValue.Create(p.Value)).ToArray());
            }
        }

        var path = Uri.UnescapeDataString(request.RawPath);
        var proxy = path.TrimStart('/');
        var ev = new JsonObject
        {
            ["version"] = "1.0",
            ["resource"] = "/{proxy+}",
            ["path"] = path,
            ["httpMethod"] = request.Method,
            ["headers"] = headers,
            ["multiValueHeaders"] = multiHeaders,
            ["queryStringParameters"] = single,
            ["multiValueQueryStringParameters"] = multi,
            ["pathParameters"] = proxy.Length == 0 ? null : new JsonObject { ["proxy"] = proxy },
            ["stageVariables"] = null,
            ["requestContext"] = new JsonObject
            {
                ["accountId"] = caller is null ? "anonymous" : accountId,
                ["apiId"] = apiId,
                ["domainName"] = request.DomainName,
                ["domainPrefix"] = DomainPrefix(request.DomainName),
                ["extendedRequestId"] = request.RequestId,
                ["httpMethod"] = request.Method,
                ["identity"] = new JsonObject
                {
                    ["accessKey"] = caller?.AccessKey,
                    ["accountId"] = caller?.AccountId,
                    ["caller"] = caller?.UserName,
                    ["cognitoAuthenticationProvider"] = null,
                    ["cognitoAuthenticationType"] = null,
                    ["cognitoIdentityId"] = null,
                    ["cognitoIdentityPoolId"] = null,
                    ["principalOrgId"] = null,
                    ["sourceIp"] = request.SourceIp,
                    ["user"] = caller?.UserName,
                    ["userAgent"] = Header(request, "user-agent") ?? "",
                    ["userArn"] = caller?.UserArn,
                },
                ["path"] = path,
                ["protocol"] = request.Protocol,
                ["requestId"] = request.RequestId,
                ["requestTime"] = ClfTime(request.Time),
                ["requestTimeEpoch"] = request.Time.ToUnixTimeMilliseconds(),
                ["resourceId"] = "$default",
                ["resourcePath"] = "/{proxy+}",
                ["stage"] = "$default",
            },
        };
        AddBody(ev, request, emptyAsString: false, nullWhenEmpty: true);
        return ev;
    }

    public static JsonObject BuildAlb(UrlRequest request, string apiId, string accountId, string region)
    {
        var headers = new JsonObject();
        foreach (var group in WithForwarded(request).GroupBy(h => h.Key.ToLowerInvariant()))
        {
            headers[group.Key] = group.Last().Value;
        }

        // An ALB passes query names and values as sent (not decoded), the last value of a repeated name.
        var query = new JsonObject();
        foreach (var group in request.QueryPairs(decode: false).GroupBy(p => p.Key, StringComparer.Ordinal))
        {
            query[group.Key] = group.Last().Value;
        }

        var ev = new JsonObject
        {
            ["requestContext"] = new JsonObject
            {
                ["elb"] = new JsonObject { ["targetGroupArn"] = $"arn:aws:elasticloadbalancing:{region}:{accountId}:targetgroup/{apiId}/fnoperator" },
            },
            ["httpMethod"] = request.Method,
            ["path"] = request.RawPath,
            ["queryStringParameters"] = query,
            ["headers"] = headers,
        };
        AddBody(ev, request, emptyAsString: true);
        return ev;
    }

    /// <summary>Lambda's requestContext.time: 12/Mar/2020:19:03:58 +0000.</summary>
    public static string ClfTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("dd/MMM/yyyy:HH:mm:ss", CultureInfo.InvariantCulture) + " +0000";

    /// <summary>The first label of the host, as API Gateway and Function URLs give domainPrefix.</summary>
    private static string DomainPrefix(string domainName) => domainName.Split('.')[0];

    private static string? Header(UrlRequest request, string name) =>
        request.Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    /// <summary>The request's headers plus those Lambda's front end adds when the client did not send them.</summary>
    private static List<KeyValuePair<string, string>> WithForwarded(UrlRequest request)
    {
        var headers = request.Headers.ToList();
        void Add(string name, string value)
        {
            if (!headers.Any(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)))
            {
                headers.Add(KeyValuePair.Create(name, value));
            }
        }

        Add("x-amzn-trace-id", request.TraceId);
        Add("x-forwarded-for", request.SourceIp);
        Add("x-forwarded-proto", request.Scheme);
        Add("x-forwarded-port", request.Port.ToString(CultureInfo.InvariantCulture));
        return headers;
    }

    private static void AddBody(JsonObject ev, UrlRequest request, bool emptyAsString, bool nullWhenEmpty = false)
    {
        if (request.Body.Length == 0)
        {
            if (emptyAsString)
            {
                ev["body"] = "";
            }
            else if (nullWhenEmpty)
            {
                ev["body"] = null;
            }

            ev["isBase64Encoded"] = false;
            return;
        }

        var text = request.BodyIsText();
        ev["body"] = text ? Encoding.UTF8.GetString(request.Body) : Convert.ToBase64String(request.Body);
        ev["isBase64Encoded"] = !text;
    }
}
