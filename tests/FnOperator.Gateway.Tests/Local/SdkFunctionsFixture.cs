using System.Text.Json.Nodes;

namespace FnOperator.Gateway.Tests.Local;

/// <summary>Local mode serving purpose-built functions for the SDK tests, with fast async retries.</summary>
public sealed class SdkFunctionsFixture : IAsyncLifetime
{
    public const string FailureQueue = "sdk-failures";

    private const string Recorder = """
        exports.handler = async (record) => {
          const ctx = record.requestContext || {};
          console.log(`record marker=${record.requestPayload && record.requestPayload.marker} condition=${ctx.condition} attempts=${ctx.approximateInvokeCount}`);
          return {};
        };
        """;

    private const string Logging = """
        exports.handler = async (event, context) => {
          console.log(`event ${JSON.stringify(event)}`);
          if (event && event.fail) { throw new Error("asked to fail: " + event.fail); }
          if (event && event.sleepMs) { await new Promise((r) => setTimeout(r, event.sleepMs)); }
          return { echo: event, requestId: context.awsRequestId };
        };
        """;

    private readonly TempManifests dir = new();
    private LocalModeProcess? local;

    public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        dir.NodeFunction("echo", "sdk-echo", "scaling:\n  maxReplicas: 3", Logging);
        dir.NodeFunction("throttled", "sdk-throttled", "concurrency:\n  reserved: 0", Logging);
        dir.NodeFunction("limited", "sdk-limited", "timeoutSeconds: 30\nconcurrency:\n  reserved: 1", Logging);
        dir.NodeFunction("flaky", "sdk-flaky", $"""
            async:
              maximumRetryAttempts: 2
              destinations:
                onSuccess:
                  function: sdk-recorder
                onFailure:
                  queue: {FailureQueue}
            """, Logging);
        dir.NodeFunction("noretry", "sdk-noretry", "async:\n  maximumRetryAttempts: 0", Logging);
        dir.NodeFunction("recorder", "sdk-recorder", "", Recorder);
        local = await LocalModeProcess.StartAsync(dir.Root, "--retry-base-delay-seconds", "0.2");
    }

    /// <summary>Reads (and removes) messages from a destination queue until one matches or the timeout passes.</summary>
    public async Task<JsonObject> ReceiveAsync(string queue, Func<JsonObject, bool> match, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Local.Endpoint) };
        var seen = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var body = JsonNode.Parse(await http.GetStringAsync($"/_fnop/v1/queues/{queue}/messages?max=100"))!;
            foreach (var message in body["messages"]!.AsArray().OfType<JsonObject>())
            {
                if (match(message))
                {
                    return message;
                }

                seen.Add(message.ToJsonString());
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"no matching message on queue {queue} within {timeout.TotalSeconds} s; saw: {string.Join("\n", seen)}\noutput:\n{Local.Output}");
    }

    public async Task DisposeAsync()
    {
        if (local is not null)
        {
            await local.DisposeAsync();
        }

        dir.Dispose();
    }
}
