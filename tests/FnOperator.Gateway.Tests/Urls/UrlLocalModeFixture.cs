using FnOperator.Gateway.Tests.Local;

namespace FnOperator.Gateway.Tests.Urls;

/// <summary>
/// Local mode (the real gateway and shim processes, real node runtimes) serving URLs of handlers this project did not
/// write: an Express app wrapped by npm serverless-http behind a 2.0 URL (no spec.url: local mode's defaults) and a
/// 1.0 URL, a page and a CORS API for the browser test, and a function that outlives its timeout.
/// </summary>
public sealed class UrlLocalModeFixture : IAsyncLifetime
{
    public const string ExpressApp = """
        const serverless = require('serverless-http');
        const express = require('express');
        const app = express();
        app.use(express.json());
        app.get('/hello/:name', (req, res) => {
          res.set('x-powered-by-test', 'express');
          res.cookie('seen', 'yes');
          res.json({ hello: req.params.name, q: req.query.q, path: req.path, method: req.method });
        });
        app.post('/items', (req, res) => res.status(201).json({ created: req.body, type: req.get('content-type') }));
        app.get('/binary', (req, res) => res.type('application/octet-stream').send(Buffer.from([0, 1, 2, 253, 254, 255])));
        // serverless-http base64-encodes only the content types it is told are binary (as on Lambda).
        exports.handler = serverless(app, { binary: ['application/octet-stream'] });
        """;

    private const string Page = """
        exports.handler = async (event) => {
          const port = event.headers.host.split(':')[1];
          const api = `http://api.default.localhost:${port}/data`;
          const html = `<!doctype html><html><body><div id="result">pending</div><script>
            fetch('${api}', { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k1' }, body: JSON.stringify({ from: 'browser' }) })
              .then((r) => r.json().then((j) => { document.getElementById('result').textContent = 'status ' + r.status + ' ' + JSON.stringify(j); }))
              .catch((e) => { document.getElementById('result').textContent = 'failed ' + e; });
          </script></body></html>`;
          return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: html };
        };
        """;

    private const string Api = """
        exports.handler = async (event) => ({
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ answer: 42, origin: event.headers.origin, got: JSON.parse(event.body) }),
        });
        """;

    private const string Slow = """
        exports.handler = async () => { await new Promise((r) => setTimeout(r, 10000)); return 'late'; };
        """;

    private readonly TempManifests dir = new();
    private LocalModeProcess? local;

    public LocalModeProcess Local => local ?? throw new InvalidOperationException("not started");

    public int Port => new Uri(Local.Endpoint).Port;

    public async Task InitializeAsync()
    {
        var env = $"""
            environment:
              - name: NODE_PATH
                value: {RepoPaths.NodeModules}
            """;
        dir.NodeFunction("express20", "express20", env, ExpressApp);
        dir.NodeFunction("express10", "express10", env + "\nurl:\n  payloadFormat: \"1.0\"", ExpressApp);
        dir.NodeFunction("page", "page", "", Page);
        dir.NodeFunction("api", "api", """
            url:
              cors:
                allowOrigins: ["*"]
                allowMethods: ["POST"]
                allowHeaders: ["content-type", "x-api-key"]
                maxAge: 60
            """, Api);
        dir.NodeFunction("slow", "slow", "timeoutSeconds: 1", Slow);
        local = await LocalModeProcess.StartAsync(dir.Root);
    }

    public async Task DisposeAsync()
    {
        if (local is not null)
        {
            await local.DisposeAsync();
        }

        dir.Dispose();
    }

    /// <summary>A request to http://{function}.default.localhost:{port}{pathAndQuery}.</summary>
    public HttpRequestMessage Request(HttpMethod method, string function, string pathAndQuery, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, $"http://127.0.0.1:{Port}{pathAndQuery}") { Content = content };
        request.Headers.Host = $"{function}.default.localhost:{Port}";
        return request;
    }
}
