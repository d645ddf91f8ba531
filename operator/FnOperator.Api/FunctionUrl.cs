using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FnOperator.Api.Schema;

namespace FnOperator.Api;

/// <summary>A Function URL: an HTTP endpoint for the function (or one alias), as Lambda's FunctionUrlConfig.</summary>
[Description("A Function URL, as Lambda's FunctionUrlConfig: an HTTP endpoint whose requests arrive as an event and whose return value is the HTTP response.")]
public sealed class FunctionUrlSpec
{
    [JsonPropertyName("authType")]
    [AllowedValues(FunctionUrls.AuthNone, FunctionUrls.AuthIam)]
    [Description("NONE (public) or AWS_IAM (SigV4-signed requests only, as Lambda). Default NONE.")]
    public string? AuthType { get; set; }

    [JsonPropertyName("invokeMode")]
    [AllowedValues(FunctionUrls.Buffered, FunctionUrls.ResponseStream)]
    [Description("BUFFERED (the default: the whole response, 6 MB at most) or RESPONSE_STREAM (the response is streamed as the function writes it).")]
    public string? InvokeMode { get; set; }

    [JsonPropertyName("qualifier")]
    [MaxLength(128)]
    [RegularExpression("^(\\$LATEST|[a-zA-Z0-9_-]*[a-zA-Z_-][a-zA-Z0-9_-]*)$")]
    [Description("An alias name or $LATEST (Lambda allows no numbered version). Default $LATEST.")]
    public string? Qualifier { get; set; }

    [JsonPropertyName("payloadFormat")]
    [AllowedValues(FunctionUrls.Format20, FunctionUrls.Format10, FunctionUrls.FormatAlb)]
    [Description("The event shape: 2.0 (Function URLs and API Gateway HTTP APIs, the default), 1.0 (API Gateway REST proxy) or alb (ALB target).")]
    public string? PayloadFormat { get; set; }

    [JsonPropertyName("cors")]
    [Description("Cross-origin resource sharing, as Lambda's Cors; preflight requests are answered by the gateway.")]
    public FunctionUrlCors? Cors { get; set; }
}

/// <summary>Lambda's Cors for a Function URL.</summary>
public sealed class FunctionUrlCors
{
    [JsonPropertyName("allowOrigins")]
    [MaxLength(100)]
    [ItemMaxLength(253)]
    [Description("Origins allowed to call the URL (\"*\" for any); at most 100, each at most 253 characters.")]
    public List<string>? AllowOrigins { get; set; }

    [JsonPropertyName("allowMethods")]
    [MaxLength(6)]
    [ItemMaxLength(6)]
    [Description("HTTP methods allowed (\"*\" for any); at most 6, each at most 6 characters.")]
    public List<string>? AllowMethods { get; set; }

    [JsonPropertyName("allowHeaders")]
    [MaxLength(100)]
    [ItemMaxLength(1024)]
    [Description("Request headers allowed (\"*\" for any); at most 100, each at most 1024 characters.")]
    public List<string>? AllowHeaders { get; set; }

    [JsonPropertyName("exposeHeaders")]
    [MaxLength(100)]
    [ItemMaxLength(1024)]
    [Description("Response headers the browser may expose to the page; at most 100, each at most 1024 characters.")]
    public List<string>? ExposeHeaders { get; set; }

    [JsonPropertyName("maxAge")]
    [Range(0, 86400)]
    [Description("Seconds a browser may cache a preflight answer (0–86400).")]
    public int? MaxAge { get; set; }

    [JsonPropertyName("allowCredentials")]
    [Description("Whether cookies and authorization headers may be sent cross-origin.")]
    public bool? AllowCredentials { get; set; }
}

/// <summary>The values of a <see cref="FunctionUrlSpec"/>, shared by the operator, the gateway and local mode.</summary>
public static class FunctionUrls
{
    public const string AuthNone = "NONE";
    public const string AuthIam = "AWS_IAM";
    public const string Buffered = "BUFFERED";
    public const string ResponseStream = "RESPONSE_STREAM";
    public const string Format20 = "2.0";
    public const string Format10 = "1.0";
    public const string FormatAlb = "alb";
}
