using System.Text.Json;
using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Api;

/// <summary>Lambda's error responses: status, x-amzn-ErrorType and a {"Type":"User","message":…} JSON body.</summary>
public static class LambdaErrors
{
    public const string ErrorTypeHeader = "x-amzn-ErrorType";
    public const string RequestIdHeader = "x-amzn-RequestId";

    /// <summary>Lambda's 404; <paramref name="didYouMean"/> (functions of that name in other namespaces) is appended as a hint.</summary>
    public static IResult NotFound(string arn, IReadOnlyList<string>? didYouMean = null) =>
        Error(404, "ResourceNotFoundException", didYouMean is { Count: > 0 }
            ? $"Function not found: {arn} (did you mean {string.Join(" or ", didYouMean)}?)"
            : $"Function not found: {arn}");

    public static IResult TooManyRequests(string reason, string message = "Rate Exceeded.") =>
        Error(429, "TooManyRequestsException", message, new JsonObject { ["Reason"] = reason });

    public static IResult TooLarge(long limit) =>
        Error(413, "RequestTooLargeException", $"Request must be smaller than {limit} bytes for the InvokeFunction operation");

    public static IResult InvalidContent(string message) => Error(400, "InvalidRequestContentException", message);

    public static IResult InvalidParameter(string message) => Error(400, "InvalidParameterValueException", message);

    public static IResult Service(string message) => Error(500, "ServiceException", message, type: "Service");

    public static IResult Error(int status, string errorType, string message, JsonObject? extra = null, string type = "User")
    {
        var body = new JsonObject();
        foreach (var (name, value) in extra ?? [])
        {
            body[name] = value?.DeepClone();
        }

        body["Type"] = type;
        body["message"] = message;
        return new ErrorResult(status, errorType, body.ToJsonString());
    }

    private sealed class ErrorResult(int status, string errorType, string body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers[ErrorTypeHeader] = errorType;
            httpContext.Response.ContentType = "application/json";
            return httpContext.Response.WriteAsync(body, httpContext.RequestAborted);
        }
    }

    /// <summary>True when the bytes are one well-formed JSON value (empty counts as valid: no payload).</summary>
    public static bool IsJson(ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (payload.IsEmpty)
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 256 });
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return false;
        }
    }
}
