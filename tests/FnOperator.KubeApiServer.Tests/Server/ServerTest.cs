using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;

namespace FnOperator.KubeApiServer.Tests.Server;

/// <summary>A test server per test (with the Widget CRD), the real KubernetesClient, and raw HTTP helpers.</summary>
public abstract class ServerTest : IAsyncLifetime
{
    protected const string Group = "test.fnoperator.io";
    protected const string Version = "v1";
    protected const string Widgets = "widgets";
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    protected KubeApiTestServer Server { get; private set; } = null!;

    protected IKubernetes Client { get; private set; } = null!;

    protected HttpClient Http { get; private set; } = null!;

    protected virtual KubeApiServerOptions Options => new() { CrdDirectory = Fixtures.CrdDirectory };

    public async Task InitializeAsync()
    {
        Server = await KubeApiTestServer.StartAsync(Options);
        Client = Server.CreateClient();
        Http = new HttpClient { BaseAddress = Server.BaseUri, Timeout = Patience };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        Client.Dispose();
        await Server.DisposeAsync();
    }

    protected async Task<JsonObject> CreateWidgetAsync(string name, string specJson = "{}", string ns = "default")
    {
        var widget = Fixtures.Widget(name, specJson);
        widget["metadata"]!["namespace"] = ns;
        return ToJson(await Client.CustomObjects.CreateNamespacedCustomObjectAsync(widget, Group, Version, ns, Widgets));
    }

    protected async Task<JsonObject> GetWidgetAsync(string name, string ns = "default") =>
        ToJson(await Client.CustomObjects.GetNamespacedCustomObjectAsync(Group, Version, ns, Widgets, name));

    protected static JsonObject ToJson(object response) => JsonNode.Parse(((JsonElement)response).GetRawText())!.AsObject();

    /// <summary>The Status object of a failed client call.</summary>
    protected static async Task<JsonObject> StatusOfAsync(Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<HttpOperationException>(call);
        return JsonNode.Parse(error.Response.Content)!.AsObject();
    }

    protected async Task<(HttpStatusCode Code, JsonNode? Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(contentType);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Reads watch events (one JSON per line) until <paramref name="until"/> says stop or the stream ends.</summary>
    protected async Task<List<JsonObject>> WatchAsync(string path, Func<List<JsonObject>, bool> until)
    {
        using var cts = new CancellationTokenSource(Patience);
        using var response = await Http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<JsonObject>();
        while (!until(events) && await reader.ReadLineAsync(cts.Token) is { } line)
        {
            events.Add(JsonNode.Parse(line)!.AsObject());
        }

        return events;
    }

    protected static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    protected static long Rv(JsonNode obj) => long.Parse((string)obj["metadata"]!["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture);
}
