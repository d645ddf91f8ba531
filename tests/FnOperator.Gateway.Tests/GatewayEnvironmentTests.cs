using System.Collections;
using FnOperator.Gateway.Functions;
using FnOperator.Gateway.Local;
using FnOperator.Gateway.Queue.JetStream;

namespace FnOperator.Gateway.Tests;

/// <summary>Serve mode's environment, local mode's --queue, and the JetStream subject names.</summary>
public sealed class GatewayEnvironmentTests : IDisposable
{
    private readonly string keyFile = Path.GetTempFileName();

    public GatewayEnvironmentTests() => File.WriteAllText(keyFile, "0123456789abcdef0123456789abcdef0123\n");

    [Fact]
    public void Serve_mode_reads_the_cluster_key_file_and_the_nats_settings()
    {
        var options = GatewayEnvironment.Apply(new GatewayOptions(), new Hashtable
        {
            ["Gateway__ClusterKeyFile"] = keyFile,
            ["Gateway__Queue"] = "nats",
            ["Gateway__NatsUrl"] = "tls://nats.example:4222",
            ["Gateway__NatsUser"] = "gw",
            ["Gateway__NatsPassword"] = "secret",
            ["Gateway__NatsStreamReplicas"] = "3",
            ["Gateway__ShutdownTimeoutSeconds"] = "915",
        }, out var errors);

        Assert.Empty(errors);
        Assert.Equal("0123456789abcdef0123456789abcdef0123"u8.ToArray(), options.ClusterKey);
        Assert.True(options.ProtectQueueInspection);
        Assert.Equal(new JetStreamOptions { Url = "tls://nats.example:4222", User = "gw", Password = "secret", StreamReplicas = 3 }, options.JetStream);
        Assert.Equal(TimeSpan.FromSeconds(915), options.ShutdownTimeout);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("", "memory", "Gateway__ClusterKeyFile is required")]
    [InlineData("key", "redis", "Gateway__Queue 'redis'")]
    [InlineData("key", "nats", "Gateway__NatsUrl")]
    public void Serve_mode_refuses_a_missing_key_or_an_unknown_queue(string key, string queue, string expected)
    {
        GatewayEnvironment.Apply(new GatewayOptions(), new Hashtable
        {
            ["Gateway__ClusterKeyFile"] = key == "" ? null : keyFile,
            ["Gateway__Queue"] = queue,
        }, out var errors);

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("nats://127.0.0.1:4222", "nats://127.0.0.1:4222", null)]
    [InlineData("nats://fnop:p%40ss@queue:4333", "nats://queue:4333", "fnop")]
    [InlineData("memory", null, null)]
    public void Local_mode_takes_a_nats_queue_url_or_memory(string queue, string? url, string? user)
    {
        Assert.True(LocalOptions.TryParse(["--functions", "examples", "--queue", queue], out var options, out var error), error);

        Assert.Equal(url, options.JetStream?.Url);
        Assert.Equal(user, options.JetStream?.User);
    }

    [Theory]
    [InlineData("http://queue:4222")]
    [InlineData("nats://queue")]
    [InlineData("queue:4222")]
    public void Local_mode_refuses_a_queue_that_is_not_a_nats_url(string queue)
    {
        Assert.False(LocalOptions.TryParse(["--functions", "examples", "--queue", queue], out _, out var error));
        Assert.StartsWith("--queue:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default", "hello", "$LATEST", "fnop.inv.default.hello.$LATEST")]
    [InlineData("team-a", "my.fn", "3", "fnop.inv.team-a.my%2Efn.3")]
    public void Subjects_escape_dots_and_parse_back(string ns, string name, string version, string subject)
    {
        var key = new FunctionKey(ns, name);

        Assert.Equal(subject, JetStreamNames.Subject("fnop.inv", key, version));
        Assert.True(JetStreamNames.TryParse("fnop.inv", subject, out var parsed, out var parsedVersion));
        Assert.Equal((key, version), (parsed, parsedVersion));
        Assert.DoesNotContain('.', JetStreamNames.Consumer(key, version));
    }

    public void Dispose() => File.Delete(keyFile);
}
