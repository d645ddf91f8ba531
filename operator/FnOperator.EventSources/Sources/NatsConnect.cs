using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace FnOperator.EventSources.Sources;

/// <summary>Connecting to NATS with a mapping's credentials, and the JetStream helpers the NATS sources share.</summary>
internal static class NatsConnect
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    public static async Task<NatsConnection> OpenAsync(string url, SourceCredentials credentials, CancellationToken cancellationToken)
    {
        var opts = NatsOpts.Default with
        {
            Url = url,
            Name = "fnoperator-event-source",
            ConnectTimeout = ConnectTimeout,
            AuthOpts = NatsAuthOpts.Default with { Username = credentials.Username, Password = credentials.Password, Token = credentials.Token },
        };
        var connection = new NatsConnection(opts);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(ConnectTimeout * 2, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            var text = Flatten(e);
            throw new SourceException(text.Contains("uthorization", StringComparison.Ordinal) ? SourceFailure.AuthFailed : SourceFailure.Unreachable, $"nats {url}: {text}", e);
        }
    }

    /// <summary>The stream that captures <paramref name="subject"/>; a work-queue stream <c>FNOP_{subject}</c> is created when none does.</summary>
    public static async Task<string> StreamForSubjectAsync(INatsJSContext js, string subject, CancellationToken cancellationToken)
    {
        await foreach (var name in js.ListStreamNamesAsync(subject, cancellationToken).ConfigureAwait(false))
        {
            return name;
        }

        var created = "FNOP_" + new string([.. subject.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);
        await js.CreateStreamAsync(new StreamConfig(created, [subject]) { Retention = StreamConfigRetention.Workqueue }, cancellationToken).ConfigureAwait(false);
        return created;
    }

    public static string ConsumerName(string mapping) => new([.. mapping.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);

    public static Dictionary<string, string> Headers(NatsHeaders? headers)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var (key, value) in headers ?? [])
        {
            attributes[key] = value.ToString();
        }

        return attributes;
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : $"{e.Message}: {Flatten(e.InnerException)}";
}
