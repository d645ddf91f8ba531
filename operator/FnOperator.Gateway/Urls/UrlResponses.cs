using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FnOperator.Api;

namespace FnOperator.Gateway.Urls;

/// <summary>The HTTP response a function's result maps to.</summary>
public sealed record UrlResponse(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body);

/// <summary>
/// Lambda's response mapping for Function URLs (docs/function-urls.md "Responses"). Payload 2.0: a JSON object with
/// statusCode is a structured response {statusCode, headers, cookies, body, isBase64Encoded}; any other JSON value is
/// a 200 application/json response whose body is the JSON text itself (a returned string keeps its quotes). Payload
/// 1.0 and alb, as API Gateway REST and ALB: a structured response is required (headers and multiValueHeaders merged);
/// anything else is malformed, which the endpoint answers 502 as they do.
/// </summary>
public static class UrlResponses
{
    /// <summary>Headers a function may not set: the gateway frames the response itself.</summary>
    private static readonly HashSet<string> Framing = new(StringComparer.OrdinalIgnoreCase)
    {
        "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer",
    };

    /// <summary>The mapped response, or null with <paramref name="problem"/> when the result cannot be one (502).</summary>
    public static UrlResponse? Map(string format, byte[] payload, out string? problem)
    {
        problem = null;
        var structuredOnly = format is FunctionUrls.Format10 or FunctionUrls.FormatAlb;
        if (payload.Length == 0)
        {
            if (structuredOnly)
            {
                problem = "the function returned no response; payload format " + format + " needs {\"statusCode\": …}";
                return null;
            }

            return new UrlResponse(200, [], []);
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(payload, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException ex)
        {
            problem = $"the function's response is not JSON: {ex.Message}";
            return null;
        }

        if (node is JsonObject obj && obj.ContainsKey("statusCode"))
        {
            return Structured(obj, out problem);
        }

        if (structuredOnly)
        {
            problem = $"payload format {format} needs a response object with statusCode";
            return null;
        }

        return new UrlResponse(200, [KeyValuePair.Create("Content-Type", "application/json")], payload);
    }

    private static UrlResponse? Structured(JsonObject obj, out string? problem)
    {
        problem = null;
        var status = obj["statusCode"] switch
        {
            JsonValue v when v.TryGetValue<int>(out var n) => n,
            JsonValue v when v.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
            _ => -1,
        };
        if (status is < 100 or > 599)
        {
            problem = $"statusCode {obj["statusCode"]?.ToJsonString() ?? "null"} is not an HTTP status (100–599)";
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>();
        if (obj["multiValueHeaders"] is JsonObject multi)
        {
            foreach (var (name, values) in multi)
            {
                foreach (var value in values as JsonArray ?? [])
                {
                    AddHeader(headers, name, value);
                }
            }
        }

        if (obj["headers"] is JsonObject single)
        {
            foreach (var (name, value) in single)
            {
                // API Gateway: a name in both keeps only the multiValueHeaders values.
                if (obj["multiValueHeaders"] is JsonObject m && m.ContainsKey(name))
                {
                    continue;
                }

                AddHeader(headers, name, value);
            }
        }

        foreach (var cookie in obj["cookies"] as JsonArray ?? [])
        {
            if (cookie is JsonValue v && v.TryGetValue<string>(out var text))
            {
                headers.Add(KeyValuePair.Create("Set-Cookie", text));
            }
        }

        if (!headers.Any(h => h.Key.Equals("content-type", StringComparison.OrdinalIgnoreCase)))
        {
            headers.Add(KeyValuePair.Create("Content-Type", "application/json"));
        }

        var bodyText = obj["body"] switch
        {
            null => "",
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            var other => other.ToJsonString(),
        };
        var base64 = obj["isBase64Encoded"] is JsonValue b && b.TryGetValue<bool>(out var isBase64) && isBase64;
        byte[] body;
        if (base64)
        {
            try
            {
                body = Convert.FromBase64String(bodyText);
            }
            catch (FormatException)
            {
                problem = "isBase64Encoded is true but body is not base64";
                return null;
            }
        }
        else
        {
            body = Encoding.UTF8.GetBytes(bodyText);
        }

        return new UrlResponse(status, headers, body);
    }

    private static void AddHeader(List<KeyValuePair<string, string>> headers, string name, JsonNode? value)
    {
        if (Framing.Contains(name) || value is null)
        {
            return;
        }

        var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value.ToJsonString();
        headers.Add(KeyValuePair.Create(name, text));
    }
}
