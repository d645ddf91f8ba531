using System.Collections.Concurrent;
using System.Text;
using FnOperator.EventSources.Sources;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Tests;

/// <summary>
/// A mapping's credentials (credentialsSecretRef keys username/password or token) against real nats-servers that
/// require them: the right ones poll, wrong or missing ones are an AuthFailed source error without the secret in it.
/// </summary>
public sealed class NatsCredentialTests
{
    [Fact]
    public async Task Nats_user_and_password_credentials_poll_and_wrong_ones_are_AuthFailed()
    {
        await using var nats = await ServerProcess.NatsAsync(extraArgs: ["--user", "esm", "--pass", "s3cret-pass"]);
        await using (var client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl, AuthOpts = NatsAuthOpts.Default with { Username = "esm", Password = "s3cret-pass" } }))
        {
            var js = new NatsJSContext(client);
            await js.CreateStreamAsync(new StreamConfig("JOBS", ["jobs"]) { Retention = StreamConfigRetention.Workqueue });
            (await js.PublishAsync("jobs", Encoding.UTF8.GetBytes("job-1"))).EnsureSuccess();
        }

        await AssertPollsAndRefusesAsync(nats.NatsUrl, new SourceCredentials("esm", "s3cret-pass", null), new SourceCredentials("esm", "wrong-pass", null), "wrong-pass");
    }

    [Fact]
    public async Task Nats_token_credentials_poll_and_a_wrong_token_is_AuthFailed()
    {
        await using var nats = await ServerProcess.NatsAsync(extraArgs: ["--auth", "tok-123456"]);
        await using (var client = new NatsConnection(NatsOpts.Default with { Url = nats.NatsUrl, AuthOpts = NatsAuthOpts.Default with { Token = "tok-123456" } }))
        {
            var js = new NatsJSContext(client);
            await js.CreateStreamAsync(new StreamConfig("JOBS", ["jobs"]) { Retention = StreamConfigRetention.Workqueue });
            (await js.PublishAsync("jobs", Encoding.UTF8.GetBytes("job-1"))).EnsureSuccess();
        }

        await AssertPollsAndRefusesAsync(nats.NatsUrl, new SourceCredentials(null, null, "tok-123456"), new SourceCredentials(null, null, "tok-wrong"), "tok-wrong");
    }

    [Theory]
    [InlineData("queue")]
    [InlineData("stream")]
    public async Task Nats_server_without_jetstream_is_a_clear_invalid_source_error(string kind)
    {
        await using var nats = await ServerProcess.NatsWithoutJetStreamAsync();
        var observer = new FailureObserver();
        Func<IRecordSource> connect = kind == "queue"
            ? () => new NatsQueueSource(nats.NatsUrl, "jobs", "esm-jobs", "default", SourceCredentials.None, TimeSpan.FromSeconds(30))
            : () => new NatsStreamSource(nats.NatsUrl, "EVENTS", "esm-events", "default", SourceCredentials.None, new StartingPosition(StartingPosition.TrimHorizon));
        var cts = Pollers.Start(new Poller(connect, new PollerSettings { FunctionName = "default/f" }, new TestFunction(), observer, TimeProvider.System));
        await Eventually.TrueAsync(() => !observer.Failures.IsEmpty, "the source error");
        await Pollers.StopAsync(cts);
        cts.Dispose();

        var failure = observer.Failures.First();
        Assert.Equal(SourceFailure.Invalid, failure.Failure);
        Assert.Contains(nats.NatsUrl, failure.Message, StringComparison.Ordinal);
        Assert.Contains("JetStream is not enabled", failure.Message, StringComparison.Ordinal);
    }

    private static async Task AssertPollsAndRefusesAsync(string url, SourceCredentials good, SourceCredentials bad, string badSecret)
    {
        var settings = new PollerSettings { FunctionName = "default/f", BatchSize = 10, MaximumConcurrency = 1 };
        var function = new TestFunction();
        var ok = Pollers.Start(new Poller(() => new NatsQueueSource(url, "jobs", "esm-jobs", "default", good, TimeSpan.FromSeconds(30)), settings, function, NullPollerObserver.Instance, TimeProvider.System));
        var refused = new FailureObserver();
        var denied = new TestFunction();
        var wrong = Pollers.Start(new Poller(() => new NatsQueueSource(url, "jobs", "esm-wrong", "default", bad, TimeSpan.FromSeconds(30)), settings, denied, refused, TimeProvider.System));
        var none = new FailureObserver();
        var anonymous = Pollers.Start(new Poller(() => new NatsQueueSource(url, "jobs", "esm-none", "default", SourceCredentials.None, TimeSpan.FromSeconds(30)), settings, new TestFunction(), none, TimeProvider.System));

        await Eventually.TrueAsync(() => function.Bodies().SelectMany(b => b).Contains("job-1"), "the job polled with the right credentials");
        await Eventually.TrueAsync(() => !refused.Failures.IsEmpty && !none.Failures.IsEmpty, "both refused");
        foreach (var cts in new[] { ok, wrong, anonymous })
        {
            await Pollers.StopAsync(cts);
            cts.Dispose();
        }

        Assert.Empty(denied.Batches);
        Assert.All(refused.Failures.Concat(none.Failures), f => Assert.Equal(SourceFailure.AuthFailed, f.Failure));
        Assert.All(refused.Failures, f => Assert.DoesNotContain(badSecret, f.Message, StringComparison.Ordinal));
        Assert.Contains(url, refused.Failures.First().Message, StringComparison.Ordinal);
    }

    private sealed class FailureObserver : IPollerObserver
    {
        public ConcurrentQueue<SourceException> Failures { get; } = new();

        public void Connected(SourceIdentity source)
        {
        }

        public void Processed(string result, int records, DateTimeOffset at)
        {
        }

        public void SourceFailed(SourceException error) => Failures.Enqueue(error);

        public void Discarded(int records, string condition)
        {
        }
    }
}
