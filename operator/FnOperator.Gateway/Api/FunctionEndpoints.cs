using System.Text.Json.Nodes;
using FnOperator.Api;
using FnOperator.Gateway.Async;
using FnOperator.Gateway.Functions;

namespace FnOperator.Gateway.Api;

/// <summary>GetFunction-lite, ListFunctions, and the destination queues' HTTP read endpoint.</summary>
public static class FunctionEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/2015-03-31/functions/", (FunctionRegistry functions) =>
            Results.Json(new JsonObject { ["Functions"] = new JsonArray([.. functions.All.Select(f => Configuration(functions, f.Key, f.Value))]) }));
        app.MapGet("/2015-03-31/functions/{functionName}", (string functionName, string? Qualifier, FunctionRegistry functions, IVersionWriter writer) =>
            GetFunction(functions, writer, functionName.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase), Qualifier));
        // GET /2015-03-31/functions/{fn}/policy (GetPolicy) has the shape of namespace/name: unless such a function exists, it is GetPolicy.
        app.MapGet("/2015-03-31/functions/{ns}/{functionName}", (HttpContext c, string ns, string functionName, string? Qualifier, FunctionRegistry functions, IVersionWriter writer) =>
            functionName == "policy" && !functions.Contains(new FunctionKey(ns, functionName))
                ? LambdaApiEndpoints.NotImplemented(c.Request.Method, c.Request.Path)
                : GetFunction(functions, writer, $"{ns}/{functionName}", Qualifier));
        app.MapGet("/_fnop/v1/queues", async (IDestinationQueues queues, CancellationToken cancellationToken) =>
            Results.Json(new JsonObject { ["queues"] = new JsonObject([.. (await queues.DepthsAsync(cancellationToken).ConfigureAwait(false)).Select(q => KeyValuePair.Create(q.Key, (JsonNode?)q.Value))]) }));
        app.MapGet("/_fnop/v1/queues/{name}/messages", (string name, string? max, IDestinationQueues queues, CancellationToken cancellationToken) =>
            ReceiveAsync(queues, name, max, cancellationToken));
    }

    private static IResult GetFunction(FunctionRegistry functions, IVersionWriter writer, string name, string? qualifier)
    {
        if (!functions.TryResolve(name, qualifier, out var fn))
        {
            // Lambda's text, as Invoke answers it: the function's ARN, with the qualifier when one was asked for.
            var shown = name.StartsWith("arn:", StringComparison.Ordinal) ? name : $"arn:aws:lambda:{functions.Region}:{functions.AccountId}:function:{name}";
            return LambdaErrors.NotFound(string.IsNullOrEmpty(qualifier) ? shown : $"{shown}:{qualifier}", functions.SameNameInOtherNamespaces(name));
        }

        var configuration = VersionEndpoints.Configuration(functions, writer, fn.Key, fn.Version);
        var body = new JsonObject
        {
            ["Configuration"] = configuration,
            ["Code"] = new JsonObject { ["RepositoryType"] = "FnOperator" },
        };
        if (fn.Spec.Concurrency?.Reserved is { } reserved)
        {
            body["Concurrency"] = new JsonObject { ["ReservedConcurrentExecutions"] = reserved };
        }

        return Results.Json(body);
    }

    private static JsonObject Configuration(FunctionRegistry functions, FunctionKey key, FunctionSpec spec) => new()
    {
        ["FunctionName"] = FunctionRegistry.DisplayName(key),
        ["FunctionArn"] = functions.ArnOf(key),
        ["Runtime"] = spec.Runtime,
        ["Handler"] = spec.Handler,
        ["MemorySize"] = spec.MemoryMiB,
        ["Timeout"] = spec.TimeoutSeconds,
        ["Version"] = FunctionRegistry.Latest,
        ["PackageType"] = string.IsNullOrEmpty(spec.Code.Image) ? "Zip" : "Image",
        ["State"] = "Active",
        ["LastUpdateStatus"] = "Successful",
    };

    private static async Task<IResult> ReceiveAsync(IDestinationQueues queues, string name, string? max, CancellationToken cancellationToken)
    {
        if (!DestinationQueues.IsValidName(name))
        {
            return LambdaErrors.InvalidParameter("Queue names are 1-253 letters, digits, '.', '-' or '_'.");
        }

        var count = 10;
        if (max is not null && (!int.TryParse(max, out count) || count is < 1 or > 1000))
        {
            return LambdaErrors.InvalidParameter("max must be a number from 1 to 1000.");
        }

        var messages = new JsonArray();
        foreach (var message in await queues.ReceiveAsync(name, count, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                messages.Add(JsonNode.Parse(message));
            }
            catch (System.Text.Json.JsonException)
            {
                messages.Add(JsonValue.Create(Convert.ToBase64String(message)));
            }
        }

        return Results.Json(new JsonObject { ["messages"] = messages });
    }
}
